package kafkatest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"contacts/internal/kafkatest"
)

func TestStart(t *testing.T) {
	brokers := kafkatest.Start(t)
	if len(brokers) != 1 {
		t.Fatalf("brokers = %v", brokers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics(kafkatest.DefaultTopic, "other.topic"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, topic := range []string{kafkatest.DefaultTopic, "other.topic"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
	got := 0
	for got < 2 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records, want 2", got)
		}
		got += fs.NumRecords()
	}
	details, err := kadm.NewClient(cl).ListTopics(ctx, kafkatest.DefaultTopic, "other.topic")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range details {
		if len(d.Partitions) != kafkatest.Partitions {
			t.Errorf("topic %s has %d partitions, want %d", d.Topic, len(d.Partitions), kafkatest.Partitions)
		}
	}
}
