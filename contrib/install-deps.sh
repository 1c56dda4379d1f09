#!/usr/bin/env bash
# Debian 12 packages needed to build, test, demo and benchmark cryptlayer.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential make gcc pkg-config ca-certificates \
	libmount-dev libbtrfsutil-dev libseccomp-dev libssl-dev libjson-c-dev \
	libarchive-dev libzstd-dev zlib1g-dev libcmocka-dev \
	bats bats-support bats-assert bats-file \
	runc crun podman containerd uidmap busybox-static e2fsprogs util-linux jq \
	age skopeo gnupg openssl rsync time xxd procps python3 attr btrfs-progs \
	python3-yaml python3-grpcio python3-grpc-tools
