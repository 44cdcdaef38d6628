//go:build !linux

package main

import (
	"errors"
	"net"
)

// peerCheckedListener is the listener itself where the kernel's peer credentials are not read: the
// socket's mode (0600) alone keeps other users out.
type peerCheckedListener struct{ net.Listener }

// freeBytes is not known here: restore then relies on writes failing when the disk is full.
func freeBytes(string) (uint64, error) { return 0, errors.ErrUnsupported }
