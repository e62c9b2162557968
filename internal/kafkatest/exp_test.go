package kafkatest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"

	"contacts/internal/kafkatest"
)

func pub(t *testing.T, brokers []string, idem bool, maxOpen int) *kafka.Publisher {
	cfg := kafka.DefaultSaramaSyncPublisherConfig()
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	if idem {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	} else if maxOpen > 0 {
		cfg.Net.MaxOpenRequests = maxOpen
	}
	p, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, OverwriteSaramaConfig: cfg,
		Marshaler: kafka.NewWithPartitioningMarshaler(func(topic string, msg *message.Message) (string, error) { return msg.Metadata.Get("k"), nil })}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExpPublish(t *testing.T) {
	for _, idem := range []bool{false, true} {
		for _, lanes := range []int{1, 8} {
			brokers := kafkatest.Start(t)
			p := pub(t, brokers, idem, 0)
			n := 4000
			start := time.Now()
			var wg sync.WaitGroup
			for l := 0; l < lanes; l++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := l; i < n; i += lanes {
						m := message.NewMessage(fmt.Sprint(i), []byte(`{"x":1}`))
						m.Metadata.Set("k", fmt.Sprint(i%50))
						if err := p.Publish(kafkatest.DefaultTopic, m); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			t.Logf("idem=%v lanes=%d: %d msgs in %v", idem, lanes, n, time.Since(start))
			p.Close()
		}
	}
}

func TestExpGroupResume(t *testing.T) {
	brokers := kafkatest.Start(t)
	p := pub(t, brokers, true, 0)
	for i := 0; i < 200; i++ {
		m := message.NewMessage(fmt.Sprint(i), []byte(`{}`))
		m.Metadata.Set("k", fmt.Sprint(i%7))
		if err := p.Publish(kafkatest.DefaultTopic, m); err != nil {
			t.Fatal(err)
		}
	}
	consume := func(max int) int {
		cfg := kafka.DefaultSaramaSubscriberConfig()
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		s, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: brokers, ConsumerGroup: "g", OverwriteSaramaConfig: cfg, Unmarshaler: kafka.DefaultMarshaler{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch, err := s.Subscribe(ctx, kafkatest.DefaultTopic)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		var first time.Duration
		timeout := time.After(10 * time.Second)
	loop:
		for got < max {
			select {
			case m := <-ch:
				if got == 0 {
					first = time.Since(start)
				}
				m.Ack()
				got++
			case <-timeout:
				break loop
			case <-time.After(2 * time.Second):
				break loop
			}
		}
		cs := time.Now()
		s.Close()
		t.Logf("got %d, first after %v, total %v, close %v", got, first, time.Since(start), time.Since(cs))
		return got
	}
	consume(100)
	consume(1000)
}
