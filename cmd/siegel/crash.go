package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// crashEnv names the environment variable of the kill switch. Only tests set it: the node then kills
// itself with SIGKILL at a chosen point of block execution, so that recovery from a crash at exactly
// that point can be tested on the real binary.
const crashEnv = "SIEGEL_CRASH_AT"

// Crash points, in the order CometBFT reaches them for one block.
const (
	crashFinalize = "finalize" // the app has executed the block in memory; nothing is written
	crashCommit   = "commit"   // CometBFT has saved the block's state and calls Commit; the app has not written
	crashSaved    = "saved"    // the app's batch is synced; CometBFT has not recorded the commit
)

// crashSwitch fires at point of block height, or of the first block with transactions when height is 0.
type crashSwitch struct {
	point  string
	height int64
}

func crashSwitchFromEnv() (crashSwitch, error) {
	v := os.Getenv(crashEnv)
	if v == "" {
		return crashSwitch{}, nil
	}
	point, h, _ := strings.Cut(v, ":")
	c := crashSwitch{point: point}
	switch point {
	case crashFinalize, crashCommit, crashSaved:
	default:
		return c, fmt.Errorf("%s=%q: point must be finalize, commit or saved", crashEnv, v)
	}
	if h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%s=%q: height must be a positive integer", crashEnv, v)
		}
		c.height = n
	}
	return c, nil
}

// at kills the process if the switch is set for this point and block.
func (c crashSwitch) at(point string, height int64, txs int) {
	if c.point != point || (c.height != 0 && c.height != height) || (c.height == 0 && txs == 0) {
		return
	}
	fmt.Fprintf(os.Stderr, "siegel: %s: killing the process at %s of block %d\n", crashEnv, point, height)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL cannot be caught; wait for it
}
