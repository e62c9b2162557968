// Package kafkatest gives tests a Kafka broker and helpers to read what
// reached it.
//
//	brokers := kafkatest.Start(t)   // the real, shared Apache Kafka broker
//	prefix := kafkatest.Prefix(t)   // this test's topic prefix ("t-…." )
//
// Start is the real broker of package enginetest, shared by every test of
// the run: a test must keep to topics under its own Prefix (relay and
// kafkaconsumer take it as TopicPrefix; consumer groups are named after it
// too) so that tests running in parallel never see each other's records.
// Topics are auto-created with Partitions partitions, so per-key ordering
// across several partitions is really exercised.
//
// StartCluster runs franz-go's kfake instead, in the test process: it stays
// for tests that need a broker they can start late or inject faults into.
package kafkatest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"contacts/internal/enginetest"
)

// Partitions is the partition count of every topic the cluster creates.
const Partitions = 4

// DefaultTopic is created when a kfake cluster starts: the relay's topic
// with the default prefix.
const DefaultTopic = "contacts.events"

// EnvLog set to "debug", "info", "warn" or "error" makes the broker log to
// stderr (for debugging a test).
const EnvLog = "KAFKATEST_LOG"

// Start returns the bootstrap address of the shared real Kafka broker
// (enginetest.Kafka).
func Start(t testing.TB) []string {
	t.Helper()
	return []string{enginetest.Kafka(t)}
}

// Prefix returns a topic prefix of this test's own ("t-<12 hex>."), for
// relay.Config.TopicPrefix and kafkaconsumer.Config.TopicPrefix.
func Prefix(t testing.TB) string {
	t.Helper()
	return enginetest.Unique("t") + "."
}

// StartCluster runs a kfake cluster in the test process (closed at
// t.Cleanup): for tests that need the cluster itself, to inspect it or
// inject faults through kfake's Control functions.
func StartCluster(t testing.TB) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(0), // a random free port on 127.0.0.1
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(Partitions),
		kfake.SeedTopics(Partitions, DefaultTopic),
	}
	if lvl, ok := logLevel(os.Getenv(EnvLog)); ok {
		opts = append(opts, kfake.WithLogger(kfake.BasicLogger(os.Stderr, lvl)))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kafkatest: starting kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func logLevel(s string) (kfake.LogLevel, bool) {
	switch s {
	case "debug":
		return kfake.LogLevelDebug, true
	case "info":
		return kfake.LogLevelInfo, true
	case "warn":
		return kfake.LogLevelWarn, true
	case "error":
		return kfake.LogLevelError, true
	case "":
		return kfake.LogLevelNone, false
	default:
		fmt.Fprintf(os.Stderr, "kafkatest: unknown %s=%q (debug, info, warn, error)\n", EnvLog, s)
		return kfake.LogLevelNone, false
	}
}

// Records reads topic from the start until it has at least n records (or
// fails the test after timeout) and returns them in partition order.
func Records(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("kafkatest: %d records in %s after %v, want %d", len(out), topic, timeout, n)
		}
		for _, e := range fs.Errors() {
			t.Logf("kafkatest: fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// Count is the number of records in topic: the sum of its partitions' end
// offsets (0 when the topic does not exist).
func Count(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("kafkatest: end offsets of %s: %v", topic, err)
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			n += o.Offset
		}
	})
	return n
}
