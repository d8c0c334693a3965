package cmdutil

import "io"

// WatchClosed reports, by closing the channel it returns, that nobody reads w any
// more: w is a pipe whose reader has gone, as after `| head -1`. A command waiting
// for input (sub between messages) learns it at once instead of at its next write.
// stop ends the watch. Where this cannot be watched (w is not a pipe, or off Linux)
// the channel never closes and a closed stdout shows at the next write (EPIPE).
func WatchClosed(w io.Writer) (closed <-chan struct{}, stop func()) {
	if ch, stop, ok := watchClosed(w); ok {
		return ch, stop
	}
	return nil, func() {}
}
