package readapi

import "time"

// SetWSTimingsForTest shortens the keep-alive settings of handlers built
// afterwards; the returned func restores them.
func SetWSTimingsForTest(ping, pong, write time.Duration) func() {
	old := wsDefaultTimings
	wsDefaultTimings = wsTimings{pingEvery: ping, pongWait: pong, writeWait: write}
	return func() { wsDefaultTimings = old }
}
