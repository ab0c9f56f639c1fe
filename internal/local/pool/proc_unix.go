//go:build unix

package pool

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the instance in its own process group, so a timeout also
// kills whatever a bootstrap script started.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func killGroup(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
