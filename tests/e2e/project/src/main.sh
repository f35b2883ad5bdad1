# Entry point (appended after lib.sh at build time).
case "${1:-}" in
    --self-test)
        count=$(list_packages | wc -l)
        [ "$count" -gt 0 ] || { echo "no vendored packages" >&2; exit 1; }
        echo "self-test ok: $count packages on $(uname -m)"
        ;;
    --list)
        list_packages
        ;;
    *)
        echo "hello from the mab reference app ($(uname -m))"
        ;;
esac
