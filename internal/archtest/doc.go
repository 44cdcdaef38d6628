// Package archtest holds no code: its test keeps the dependency rules of docs (DESIGN.md, section 3)
// true, so that the offline verifier stays light and the state machine stays free of I/O.
package archtest
