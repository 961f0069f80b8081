//go:build !linux

package main

// makeRaw leaves the terminal as it is where Roost does not know the
// termios calls: --top then reads q followed by Enter.
func makeRaw(fd int) func() { return func() {} }
