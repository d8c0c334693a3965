package cmdutil

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestWatchClosed(t *testing.T) {
	if ch, stop := WatchClosed(&bytes.Buffer{}); ch != nil {
		stop()
		t.Fatal("a buffer is watched: want a nil channel")
	}
	if runtime.GOOS != "linux" {
		t.Skip("watched on Linux only")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	closed, stop := WatchClosed(w)
	defer stop()
	select {
	case <-closed:
		t.Fatal("reported closed while the reader is open")
	default:
	}
	r.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader closed, not reported")
	}

	// stop ends a watch that saw nothing.
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	defer w2.Close()
	closed2, stop2 := WatchClosed(w2)
	stop2()
	stop2()
	select {
	case <-closed2:
		t.Fatal("stop reported the pipe closed")
	default:
	}
}
