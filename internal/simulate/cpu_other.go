//go:build !unix

package simulate

import "time"

// processCPU is unknown here.
func processCPU() time.Duration { return -1 }
