echo "hello from $(uname -m)"
