#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test VM for 'make demo'.
set -e
echo "== kernel $(uname -r), KVM module: $(lsmod | awk '/^kvm_(amd|intel)/ {print $1}')"
echo "== pagetrack: $(modinfo -F description build/pagetrack.ko) $(modinfo -F version build/pagetrack.ko)"
ls -l /dev/pagetrack /dev/kvm
echo "== KVM smoke guest: real-mode payload, exits and dirty log"
build/selftests/kvm/smoke_test
