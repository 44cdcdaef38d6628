//go:build !unix

package consensus

import "os"

func statDevice(os.FileInfo) (uint64, bool) { return 0, false }
