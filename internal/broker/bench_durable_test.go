package broker_test

import (
	"testing"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/broker/store"
)

// BenchmarkFanInDurable is QoS 1 fan-in to a persistent subscriber, in
// memory and with the bbolt store, in one run: the cost of --data-dir.
func BenchmarkFanInDurable(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		addr := brokertest.Start(b, func(o *broker.Options) { o.MaxOutboundQueue, o.MaxOfflineQueue = 1<<20, 1<<20 })
		runFanInSub(b, addr, 8, 1, nil, false)
	})
	b.Run("bolt", func(b *testing.B) {
		st, err := store.OpenBolt(b.TempDir(), func(err error) { b.Errorf("store: %v", err) })
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		_, addr := brokertest.StartServer(b, func(o *broker.Options) {
			o.MaxOutboundQueue, o.MaxOfflineQueue = 1<<20, 1<<20
			o.Store = st
		})
		runFanInSub(b, addr, 8, 1, nil, false)
	})
}
