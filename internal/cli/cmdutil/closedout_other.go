//go:build !linux

package cmdutil

import "io"

// watchClosed has no way off Linux to learn that a pipe's reader has gone without
// writing to it: a closed stdout shows at the next write instead.
func watchClosed(io.Writer) (<-chan struct{}, func(), bool) { return nil, nil, false }
