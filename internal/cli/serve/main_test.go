package serve

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: listeners, the event
// printer and every client connection must end with serve.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
