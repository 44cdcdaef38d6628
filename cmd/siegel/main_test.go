package main

import (
	"os"
	"testing"
)

// TestMain lets tests run this test binary as the siegel command (SIEGEL_TEST_EXEC=1), so that
// process-level tests (kill -9, restart) need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SIEGEL_TEST_EXEC") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
