//go:build !unix

package bench

import "time"

// processCPU is not measured on this platform: the cpu-ns/op metric is 0.
func processCPU() time.Duration { return 0 }
