//go:build !linux

package clustertest

import "os/exec"

func setDeathSignal(cmd *exec.Cmd) {}
