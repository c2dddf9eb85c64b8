# Sourced by the scripts that run integration tests: builds the test images (or finds them cached)
# and exports their tarballs' paths, which __test__/support/env.ts reads.
# shellcheck shell=bash
AI_SDK_MICROSANDBOX_TEST_BUSYBOX_IMAGE=$("$(dirname "${BASH_SOURCE[0]}")/build.sh" busybox)
AI_SDK_MICROSANDBOX_TEST_HARNESS_IMAGE=$("$(dirname "${BASH_SOURCE[0]}")/build.sh" harness)
export AI_SDK_MICROSANDBOX_TEST_BUSYBOX_IMAGE AI_SDK_MICROSANDBOX_TEST_HARNESS_IMAGE
