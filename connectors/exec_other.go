//go:build !unix

package connectors

import "os/exec"

// ownGroup: without process groups only the program itself is killed.
func ownGroup(cmd *exec.Cmd) {}
