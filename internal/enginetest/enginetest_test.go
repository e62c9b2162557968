package enginetest_test

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"contacts/internal/enginetest"
)

// The shared broker answers, and asking twice gives the same one.
func TestKafka(t *testing.T) {
	addr := enginetest.Kafka(t)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("broker %s: %v", addr, err)
	}
	conn.Close()
	if again := enginetest.Kafka(t); again != addr {
		t.Errorf("Kafka = %s, then %s", addr, again)
	}
}

// The code under test never sees the run's engines in its environment.
func TestEnvironmentCleared(t *testing.T) {
	for _, k := range []string{enginetest.EnvKafka, enginetest.EnvElasticsearch} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%s is still in the environment", k, v)
		}
	}
}

// A private broker keeps its address across a stop and a start, and is
// unreachable in between.
func TestPrivateKafkaStopStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker twice")
	}
	b := enginetest.PrivateKafka(t)
	if b.Addr == enginetest.Kafka(t) {
		t.Fatalf("the private broker is the shared one (%s)", b.Addr)
	}
	b.Stop(t)
	if conn, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Stop", b.Addr)
	}
	b.Start(t) // fails the test if the address changed
	conn, err := net.DialTimeout("tcp", b.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("after Start: %v", err)
	}
	conn.Close()
}

func TestUnique(t *testing.T) {
	a, b := enginetest.Unique("t"), enginetest.Unique("t")
	if a == b || !strings.HasPrefix(a, "t-") || len(a) != len("t-")+12 || strings.ToLower(a) != a {
		t.Errorf("Unique = %q, %q", a, b)
	}
}
