package ws

import "time"

// SetWSTimingsForTest shortens the keep-alive settings of handlers built
// afterwards; the returned func restores them. For tests only (the read
// API's end-to-end tests in package readapi drive it); not safe for
// concurrent use.
func SetWSTimingsForTest(ping, pong, write time.Duration) func() {
	old := wsDefaultTimings
	wsDefaultTimings = wsTimings{pingEvery: ping, pongWait: pong, writeWait: write}
	return func() { wsDefaultTimings = old }
}
