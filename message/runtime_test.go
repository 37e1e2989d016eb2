package message

import "runtime"

type runtimeStats struct{ totalAlloc uint64 }

func (s *runtimeStats) read() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.totalAlloc = ms.TotalAlloc
}
