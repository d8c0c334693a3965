package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/packet"
	bolt "go.etcd.io/bbolt"
)

func openT(t *testing.T, dir string) *Bolt {
	t.Helper()
	b, err := OpenBolt(dir, func(err error) { t.Errorf("store error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commit adds evs and waits for their commit.
func commit(t *testing.T, b *Bolt, evs ...Event) {
	t.Helper()
	for _, ev := range evs {
		b.Add(ev)
	}
	done := make(chan struct{})
	b.Sync(Func(func() { close(done) }))
	<-done
}

func fullMessage() *Message {
	m := &Message{
		Topic: "a/b", Payload: []byte("hello"), QoS: 2, Retain: true, Origin: "pub",
		ExpiresAt: 1_700_000_000_123, EnqueuedAt: 1_600_000_000_456, SubIDs: []uint32{7, 300000},
	}
	p := &m.Props
	p.PayloadFormat = 1
	p.Set(packet.PropPayloadFormatIndicator)
	p.ContentType = []byte("text/plain")
	p.Set(packet.PropContentType)
	p.ResponseTopic = []byte("reply/to")
	p.Set(packet.PropResponseTopic)
	p.CorrelationData = []byte{0, 1, 2}
	p.Set(packet.PropCorrelationData)
	p.User = []packet.UserProperty{{Key: []byte("k"), Value: []byte("v")}, {Key: []byte("k"), Value: []byte("w")}}
	return m
}

func TestBoltRoundTripsEveryEvent(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir)
	full := fullMessage()
	plain := &Message{Topic: "x", Payload: []byte("1"), QoS: 1}
	commit(t, b,
		Event{Kind: SessionPut, Client: "c1", Session: &Session{User: "alice", Expiry: 3600, Version: 5, DisconnectedAt: 42}},
		Event{Kind: SessionPut, Client: "c2", Session: &Session{Expiry: 0xFFFFFFFF, Version: 4}},
		Event{Kind: SubPut, Client: "c1", Sub: &Subscription{Filter: "a/#", QoS: 2, NoLocal: true, RetainAsPub: true, RetainHandling: 2, ID: 9}},
		Event{Kind: SubPut, Client: "c1", Sub: &Subscription{Filter: "$share/g/b", QoS: 1}},
		Event{Kind: SubPut, Client: "c1", Sub: &Subscription{Filter: "gone", QoS: 0}},
		Event{Kind: SubDel, Client: "c1", Topic: "gone"},
		Event{Kind: MsgPut, Client: "c1", Seq: 1, Msg: full, QoS: full.QoS, Retain: full.Retain, SubIDs: full.SubIDs, At: full.EnqueuedAt, PID: 10},
		Event{Kind: MsgPut, Client: "c1", Seq: 2, Msg: plain, QoS: 1},
		Event{Kind: MsgPut, Client: "c1", Seq: 3, Msg: plain, QoS: 1},
		Event{Kind: InflightPut, Client: "c1", Seq: 2, PID: 11, State: StateSent},
		Event{Kind: InflightPut, Client: "c1", Seq: 2, PID: 11, State: StateRelSent},
	)
	// A second batch: removals of what the first one wrote.
	commit(t, b,
		Event{Kind: MsgPut, Client: "c1", Seq: 4, Msg: &Message{Topic: "x", Payload: []byte("1")}, QoS: 1},
		Event{Kind: MsgDel, Client: "c1", Seq: 3},
		Event{Kind: Qos2InPut, Client: "c1", PID: 5},
		Event{Kind: Qos2InPut, Client: "c1", PID: 6},
		Event{Kind: Qos2InDel, Client: "c1", PID: 5},
		Event{Kind: RetainedPut, Msg: full},
		Event{Kind: RetainedPut, Msg: &Message{Topic: "r/2", Payload: []byte("r")}},
		Event{Kind: RetainedDel, Topic: "r/2"},
		Event{Kind: WillPut, Client: "c1", Msg: plain},
		Event{Kind: WillPut, Client: "c2", Msg: plain},
		Event{Kind: WillDel, Client: "c2"},
		Event{Kind: SessionPut, Client: "c3", Session: &Session{Expiry: 10}},
		Event{Kind: MsgPut, Client: "c3", Seq: 1, Msg: plain, QoS: 1},
		Event{Kind: SubPut, Client: "c3", Sub: &Subscription{Filter: "x"}},
		Event{Kind: SessionDel, Client: "c3"},
	)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openT(t, dir)
	defer b.Close()
	st, err := b.Load()
	if err != nil {
		t.Fatal(err)
	}
	plainOut := &Message{Topic: "x", Payload: []byte("1"), QoS: 1}
	want := &State{
		Sessions: []SessionState{
			{
				Client:  "c1",
				Session: Session{User: "alice", Expiry: 3600, Version: 5, DisconnectedAt: 42},
				Subs: []Subscription{
					{Filter: "$share/g/b", QoS: 1},
					{Filter: "a/#", QoS: 2, NoLocal: true, RetainAsPub: true, RetainHandling: 2, ID: 9},
				},
				Queue: []QueuedMessage{
					{Seq: 1, Msg: full, Inflight: true, PID: 10, State: StateSent},
					{Seq: 2, Msg: plainOut, Inflight: true, PID: 11, State: StateRelSent},
					{Seq: 4, Msg: plainOut},
				},
				Qos2In: []uint16{6},
				Will:   plainOut,
			},
			{Client: "c2", Session: Session{Expiry: 0xFFFFFFFF, Version: 4}},
		},
		Retained: []*Message{full},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", st, want)
		for i := range min(len(st.Sessions), len(want.Sessions)) {
			if !reflect.DeepEqual(st.Sessions[i], want.Sessions[i]) {
				t.Errorf("session %d:\n%+v\nwant\n%+v", i, st.Sessions[i], want.Sessions[i])
			}
		}
	}
}

// A message queued and acknowledged within one batch is never written;
// one queued in an earlier batch is removed.
func TestBoltCancelsMessagesQueuedAndRemovedInOneBatch(t *testing.T) {
	batch := []op{
		{ev: Event{Kind: MsgPut, Client: "c", Seq: 1}},
		{ev: Event{Kind: InflightPut, Client: "c", Seq: 1, PID: 1}},
		{ev: Event{Kind: MsgPut, Client: "c", Seq: 2}},
		{fn: Func(func() {})},
		{ev: Event{Kind: MsgDel, Client: "c", Seq: 1}},
		{ev: Event{Kind: MsgDel, Client: "c", Seq: 0}}, // from an earlier batch
		{ev: Event{Kind: MsgPut, Client: "d", Seq: 1}},
		{ev: Event{Kind: SessionDel, Client: "d"}},
		{ev: Event{Kind: MsgPut, Client: "d", Seq: 1}}, // a new session's first message
		{ev: Event{Kind: MsgDel, Client: "d", Seq: 1}},
	}
	got := new(Bolt).cancelled(batch)
	want := []bool{true, true, false, false, true, false, false, false, true, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cancelled = %v, want %v", got, want)
	}
}

func TestBoltRefusesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenBolt(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "not a readable mqttx store") {
		t.Fatalf("OpenBolt on a corrupt file: %v", err)
	}
}

func TestBoltRefusesDamagedValues(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir)
	commit(t, b, Event{Kind: SessionPut, Client: "c", Session: &Session{Expiry: 5}})
	b.Close()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMsgs).Put(clientKey(nil, "c"), []byte{1}) })
	db.Close()
	_, err = OpenBolt(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "damaged mqttx store") {
		t.Fatalf("OpenBolt on a damaged store: %v", err)
	}
}

func TestBoltRefusesForeignFile(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone else's"))
		return err
	})
	db.Close()
	_, err = OpenBolt(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "not an mqttx store") {
		t.Fatalf("OpenBolt on a foreign bbolt file: %v", err)
	}
	// A store of a later layout is refused too.
	dir = t.TempDir()
	b := openT(t, dir)
	b.Close()
	db, err = bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("version"), []byte{2}) })
	db.Close()
	_, err = OpenBolt(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("OpenBolt on a store of version 2: %v", err)
	}
}

func TestBoltRefusesSecondOpener(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir)
	defer b.Close()
	_, err := OpenBolt(dir, nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenBolt: %v, want ErrLocked", err)
	}
}

// Callbacks run in order, each after the events before it are committed.
func TestBoltSyncAfterCommit(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir)
	var order []int
	done := make(chan struct{})
	for i := range 100 {
		b.Add(Event{Kind: RetainedPut, Msg: &Message{Topic: "t", Payload: []byte{byte(i)}}})
		b.Sync(Func(func() {
			order = append(order, i)
			if i == 99 {
				close(done)
			}
		}))
	}
	<-done
	for i, v := range order {
		if v != i {
			t.Fatalf("callbacks ran in order %v", order)
		}
	}
	b.Close()
	b = openT(t, dir)
	defer b.Close()
	st, _ := b.Load()
	if len(st.Retained) != 1 || st.Retained[0].Payload[0] != 99 {
		t.Fatalf("retained after reopen: %+v", st.Retained)
	}
}

// The state a message was sent with is kept with it; a later change of
// state wins over it; removing a message leaves nothing of it in either
// bucket, across a reopen as within one run.
func TestBoltInflightStateAcrossBatches(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir)
	plain := &Message{Topic: "x", Payload: []byte("1"), QoS: 2}
	commit(t, b,
		Event{Kind: SessionPut, Client: "c", Session: &Session{Expiry: 60, Version: 5}},
		Event{Kind: MsgPut, Client: "c", Seq: 1, Msg: plain, QoS: 2, PID: 21},                   // sent when queued
		Event{Kind: MsgPut, Client: "c", Seq: 2, Msg: plain, QoS: 2, PID: 22},                   // sent, then PUBREC
		Event{Kind: MsgPut, Client: "c", Seq: 3, Msg: plain, QoS: 2, PID: 23},                   // sent, then acknowledged
		Event{Kind: MsgPut, Client: "c", Seq: 4, Msg: plain, QoS: 2},                            // queued, sent later, acknowledged
		Event{Kind: MsgPut, Client: "c", Seq: 5, Msg: plain, QoS: 2},                            // queued
		Event{Kind: InflightPut, Client: "c", Seq: 4, PID: 24, State: StateSent},                // the later send
		Event{Kind: MsgPut, Client: "c", Seq: 6, Msg: plain, QoS: 2, PID: 26, State: StateSent}, // removed after a reopen
		Event{Kind: MsgPut, Client: "c", Seq: 7, Msg: plain, QoS: 2},                            // sent and removed after a reopen
		Event{Kind: InflightPut, Client: "c", Seq: 7, PID: 27, State: StateRelSent},
	)
	commit(t, b,
		Event{Kind: InflightPut, Client: "c", Seq: 2, PID: 22, State: StateRelSent},
		Event{Kind: MsgDel, Client: "c", Seq: 3},
		Event{Kind: MsgDel, Client: "c", Seq: 4},
	)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openT(t, dir)
	commit(t, b,
		Event{Kind: MsgDel, Client: "c", Seq: 6},
		Event{Kind: MsgDel, Client: "c", Seq: 7},
	)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openT(t, dir)
	st, err := b.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	want := []QueuedMessage{
		{Seq: 1, Msg: plain, Inflight: true, PID: 21, State: StateSent},
		{Seq: 2, Msg: plain, Inflight: true, PID: 22, State: StateRelSent},
		{Seq: 5, Msg: plain},
	}
	if len(st.Sessions) != 1 || !reflect.DeepEqual(st.Sessions[0].Queue, want) {
		t.Fatalf("loaded %+v\nwant queue %+v", st.Sessions, want)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketInflight).Stats().KeyN; n != 1 {
			t.Errorf("inflight bucket holds %d keys, want 1 (the change of message 2)", n)
		}
		if n := tx.Bucket(bucketMsgs).Stats().KeyN; n != 3 {
			t.Errorf("message bucket holds %d keys, want 3", n)
		}
		return nil
	})
}
