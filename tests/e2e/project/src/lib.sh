#!/bin/sh
# Helpers shared by the app's commands.

vendor_dir=/app/vendor

list_packages() {
    for d in "$vendor_dir"/*/; do
        name=$(basename "$d")
        version=$(head -n1 "$d/BUILD-ID")
        echo "$name $version"
    done
}
