package kafkatest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"contacts/internal/kafkatest"
)

// The real broker auto-creates a test's topics with Partitions partitions,
// and Records and Count read them back.
func TestStart(t *testing.T) {
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	if len(brokers) != 1 {
		t.Fatalf("brokers = %v", brokers)
	}
	topics := []string{prefix + "events", prefix + "other"}
	checkTopics(t, brokers, topics)
	if n := kafkatest.Count(t, brokers, topics[0]); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
	if r := kafkatest.Records(t, brokers, topics[1], 1, 10*time.Second); string(r[0].Value) != "v" {
		t.Errorf("Records = %q", r[0].Value)
	}
	if p := kafkatest.Prefix(t); p == prefix {
		t.Errorf("Prefix returned %q twice", p)
	}
}

// kfake, for fault injection, has the relay's default topic from the start.
func TestStartCluster(t *testing.T) {
	c := kafkatest.StartCluster(t)
	checkTopics(t, c.ListenAddrs(), []string{kafkatest.DefaultTopic, "other.topic"})
}

func checkTopics(t *testing.T, brokers, topics []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, topic := range topics {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
	got := 0
	for got < len(topics) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records, want %d", got, len(topics))
		}
		got += fs.NumRecords()
	}
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		if len(d.Partitions) != kafkatest.Partitions {
			t.Errorf("topic %s has %d partitions, want %d", d.Topic, len(d.Partitions), kafkatest.Partitions)
		}
	}
}
