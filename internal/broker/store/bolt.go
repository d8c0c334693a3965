package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the name of the store's file in its data directory.
const FileName = "mqttx.db"

// The marker that tells a file is ours, and the layout version it has.
const (
	formatName    = "mqttx broker store"
	formatVersion = 1
)

var (
	bucketMeta     = []byte("mqttx")
	bucketSessions = []byte("sessions") // client -> Session
	bucketSubs     = []byte("subs")     // client, filter -> Subscription
	bucketMsgs     = []byte("msgs")     // client, seq -> Message
	bucketInflight = []byte("inflight") // client, seq -> pid, state (changes after MsgPut)
	bucketQos2In   = []byte("qos2in")   // client, pid -> ""
	bucketRetained = []byte("retained") // topic -> Message
	bucketWills    = []byte("wills")    // client -> Message
	allBuckets     = [][]byte{bucketSessions, bucketSubs, bucketMsgs, bucketInflight, bucketQos2In, bucketRetained, bucketWills}
)

// Bolt is a Store in a bbolt file. Events wait in memory until its writer
// commits them: it takes every event pending, writes them in one
// transaction, commits (one fsync for all), then runs the Sync callbacks
// of that batch; meanwhile the next batch gathers.
type Bolt struct {
	db      *bolt.DB
	onError func(error)

	// group is held shared by Atomic and exclusively by the writer while
	// it takes a batch, so no batch ends inside a group.
	group   sync.RWMutex
	mu      sync.Mutex
	cond    sync.Cond
	pending []op
	spare   []op
	closed  bool
	failed  error
	done    chan struct{}

	loaded *State

	// The writer's scratch space, reused from batch to batch.
	spans map[msgKey]span
	skip  []bool
	// inflKeys holds (at least) the keys of the inflight bucket, so that
	// removing a message whose state never changed after MsgPut (the
	// usual case) costs no search of that bucket.
	inflKeys map[msgKey]struct{}
}

// op is an event or a Sync callback.
type op struct {
	ev Event
	fn Committed
}

// ErrLocked is returned by OpenBolt when another process has the file open.
var ErrLocked = errors.New("in use by another process")

// OpenBolt opens (creating it when missing) the store in directory dir and
// reads what it holds. A file that is not a store of ours, or is damaged,
// is an error: the broker must not start afresh over data it cannot read.
// onError, when not nil, is told of a failed commit; from then on the
// store commits nothing and runs no Sync callback, so nothing is
// acknowledged that was not stored.
func OpenBolt(dir string, onError func(error)) (b *Bolt, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	// The free page list is rebuilt at open rather than written with
	// every commit: fewer pages per commit.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s: %w (is another mqttx serve using this data directory?)", path, ErrLocked)
		}
		return nil, fmt.Errorf("%s: not a readable mqttx store (%v); move it away to start with an empty one", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: damaged mqttx store (%v); move it away to start with an empty one", path, r)
		}
		if err != nil {
			db.Close()
		}
	}()
	if err := initFile(db); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, inflKeys, err := load(db)
	if err != nil {
		return nil, fmt.Errorf("%s: damaged mqttx store (%v); move it away to start with an empty one", path, err)
	}
	b = &Bolt{db: db, onError: onError, done: make(chan struct{}), loaded: st, inflKeys: inflKeys}
	b.cond.L = &b.mu
	go b.run()
	return b, nil
}

// initFile checks the format marker, or writes it in a new file.
func initFile(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			foreign := false
			tx.ForEach(func([]byte, *bolt.Bucket) error {
				foreign = true
				return nil
			})
			if foreign {
				return errors.New("a bbolt file that is not an mqttx store; use another data directory")
			}
			m, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if err := m.Put([]byte("format"), []byte(formatName)); err != nil {
				return err
			}
			if err := m.Put([]byte("version"), binary.AppendUvarint(nil, formatVersion)); err != nil {
				return err
			}
			meta = m
		}
		if string(meta.Get([]byte("format"))) != formatName {
			return errors.New("a bbolt file that is not an mqttx store; use another data directory")
		}
		v, n := binary.Uvarint(meta.Get([]byte("version")))
		if n <= 0 || v != formatVersion {
			return fmt.Errorf("an mqttx store of version %d, this mqttx reads version %d", v, formatVersion)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// load reads the whole file, and returns the keys of the inflight bucket
// too (see Bolt.inflKeys).
func load(db *bolt.DB) (*State, map[msgKey]struct{}, error) {
	st := &State{}
	inflKeys := make(map[msgKey]struct{})
	err := db.View(func(tx *bolt.Tx) error {
		byClient := map[string]*SessionState{}
		var order []string
		err := tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			s, err := decodeSession(v)
			if err != nil {
				return fmt.Errorf("session %q: %v", k, err)
			}
			id := string(k)
			byClient[id] = &SessionState{Client: id, Session: s}
			order = append(order, id)
			return nil
		})
		if err != nil {
			return err
		}
		// Entries of a session that is not there are left over from
		// nothing we write; they are skipped.
		err = tx.Bucket(bucketSubs).ForEach(func(k, v []byte) error {
			id, rest, ok := splitClientKey(k)
			if !ok {
				return fmt.Errorf("subscription key %x", k)
			}
			if ss := byClient[id]; ss != nil {
				sub, err := decodeSub(string(rest), v)
				if err != nil {
					return fmt.Errorf("subscription of %q: %v", id, err)
				}
				ss.Subs = append(ss.Subs, sub)
			}
			return nil
		})
		if err != nil {
			return err
		}
		infl := tx.Bucket(bucketInflight)
		err = tx.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
			id, rest, ok := splitClientKey(k)
			if !ok || len(rest) != 8 {
				return fmt.Errorf("message key %x", k)
			}
			ss := byClient[id]
			if ss == nil {
				return nil
			}
			q := QueuedMessage{Seq: binary.BigEndian.Uint64(rest)}
			if len(v) == 0 {
				return fmt.Errorf("message of %q: empty", id)
			}
			switch v[0] {
			case queuedWaiting:
				v = v[1:]
			case queuedSent:
				if len(v) < 4 {
					return fmt.Errorf("message of %q: inflight state cut short", id)
				}
				q.Inflight, q.PID, q.State = true, binary.BigEndian.Uint16(v[1:]), v[3]
				v = v[4:]
			default:
				return fmt.Errorf("message of %q: unknown header %d", id, v[0])
			}
			m, err := decodeMessage(v)
			if err != nil {
				return fmt.Errorf("message of %q: %v", id, err)
			}
			q.Msg = m
			// A change after MsgPut, in the inflight bucket, wins.
			if iv := infl.Get(k); iv != nil {
				if len(iv) != 3 {
					return fmt.Errorf("inflight state of %q: %x", id, iv)
				}
				q.Inflight, q.PID, q.State = true, binary.BigEndian.Uint16(iv), iv[2]
			}
			ss.Queue = append(ss.Queue, q)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketQos2In).ForEach(func(k, v []byte) error {
			id, rest, ok := splitClientKey(k)
			if !ok || len(rest) != 2 {
				return fmt.Errorf("QoS 2 key %x", k)
			}
			if ss := byClient[id]; ss != nil {
				ss.Qos2In = append(ss.Qos2In, binary.BigEndian.Uint16(rest))
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketWills).ForEach(func(k, v []byte) error {
			if ss := byClient[string(k)]; ss != nil {
				m, err := decodeMessage(v)
				if err != nil {
					return fmt.Errorf("will of %q: %v", k, err)
				}
				ss.Will = m
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketRetained).ForEach(func(k, v []byte) error {
			m, err := decodeMessage(v)
			if err != nil {
				return fmt.Errorf("retained message of %q: %v", k, err)
			}
			st.Retained = append(st.Retained, m)
			return nil
		})
		if err != nil {
			return err
		}
		err = infl.ForEach(func(k, _ []byte) error {
			id, rest, ok := splitClientKey(k)
			if !ok || len(rest) != 8 {
				return fmt.Errorf("inflight key %x", k)
			}
			inflKeys[msgKey{id, binary.BigEndian.Uint64(rest)}] = struct{}{}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range order {
			st.Sessions = append(st.Sessions, *byClient[id])
		}
		return nil
	})
	return st, inflKeys, err
}

// Load returns the state read when the store was opened; later calls
// return an empty state.
func (b *Bolt) Load() (*State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.loaded
	b.loaded = nil
	if st == nil {
		st = &State{}
	}
	return st, nil
}

// Durable reports true.
func (b *Bolt) Durable() bool { return true }

// Add queues ev for the next commit.
func (b *Bolt) Add(ev Event) { b.push(op{ev: ev}) }

// Atomic runs fn; the events it adds go into one commit.
func (b *Bolt) Atomic(fn func()) {
	b.group.RLock()
	defer b.group.RUnlock()
	fn()
}

// Sync runs fn after the commit of everything added before it.
func (b *Bolt) Sync(c Committed) { b.push(op{fn: c}) }

func (b *Bolt) push(o op) {
	b.mu.Lock()
	if b.closed && b.failed == nil && o.fn != nil {
		// Close committed everything added before.
		b.mu.Unlock()
		o.fn.Committed()
		return
	}
	if b.closed || b.failed != nil {
		b.mu.Unlock()
		return
	}
	b.pending = append(b.pending, o)
	if len(b.pending) == 1 {
		b.cond.Signal()
	}
	b.mu.Unlock()
}

// Close commits what is pending and closes the file.
func (b *Bolt) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Signal()
	b.mu.Unlock()
	<-b.done
	return b.db.Close()
}

func (b *Bolt) run() {
	defer close(b.done)
	for {
		b.mu.Lock()
		for len(b.pending) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.pending) == 0 {
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.group.Lock()
		b.mu.Lock()
		batch := b.pending
		b.pending = b.spare[:0]
		b.mu.Unlock()
		b.group.Unlock()

		if err := b.commit(batch); err != nil {
			b.mu.Lock()
			b.failed = err
			b.pending = nil
			b.mu.Unlock()
			if b.onError != nil {
				b.onError(fmt.Errorf("store: commit: %w", err))
			}
			return
		}
		for i := range batch {
			if fn := batch[i].fn; fn != nil {
				fn.Committed()
			}
		}
		clear(batch)
		b.mu.Lock()
		b.spare = batch[:0]
		b.mu.Unlock()
	}
}

// msgKey names a queued message within a batch.
type msgKey struct {
	client string
	seq    uint64
}

// commit writes the events of batch in one transaction. A message queued
// and removed within the batch (delivered and acknowledged between two
// commits, the common case for a connected subscriber) is not written at
// all.
func (b *Bolt) commit(batch []op) error {
	n := 0
	for i := range batch {
		if batch[i].ev.Kind != 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	skip := b.cancelled(batch)
	if skip != nil {
		n = 0
		for i := range batch {
			if batch[i].ev.Kind != 0 && !skip[i] {
				n++
			}
		}
		if n == 0 {
			return nil // every message queued in the batch was removed in it too
		}
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		w := writer{tx: tx, inflKeys: b.inflKeys}
		w.buckets()
		for i := range batch {
			ev := &batch[i].ev
			if ev.Kind == 0 || (skip != nil && skip[i]) {
				continue
			}
			if err := w.apply(ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// span is where a message is queued and removed within a batch.
type span struct{ put, del int }

// cancelled marks the events of messages queued and removed in the same
// batch (their MsgPut, InflightPut and MsgDel), or returns nil when there
// are none.
func (b *Bolt) cancelled(batch []op) []bool {
	if b.spans == nil {
		b.spans = make(map[msgKey]span)
	}
	spans := b.spans
	clear(spans)
	found := false
	for i := range batch {
		ev := &batch[i].ev
		switch ev.Kind {
		case MsgPut:
			spans[msgKey{ev.Client, ev.Seq}] = span{i, -1}
		case MsgDel:
			k := msgKey{ev.Client, ev.Seq}
			if sp, ok := spans[k]; ok && sp.del < 0 {
				spans[k] = span{sp.put, i}
				found = true
			}
		case SessionDel:
			// Numbers start again in the client's next session: a
			// message of the old one is not cancelled by the new one.
			for k, sp := range spans {
				if k.client == ev.Client && sp.del < 0 {
					delete(spans, k)
				}
			}
		}
	}
	if !found {
		return nil
	}
	if cap(b.skip) < len(batch) {
		b.skip = make([]bool, len(batch))
	}
	skip := b.skip[:len(batch)]
	clear(skip)
	for i := range batch {
		ev := &batch[i].ev
		switch ev.Kind {
		case MsgPut, InflightPut, MsgDel:
			if sp, ok := spans[msgKey{ev.Client, ev.Seq}]; ok && sp.del >= 0 && sp.put <= i && i <= sp.del {
				skip[i] = true
			}
		}
	}
	return skip
}

type writer struct {
	tx       *bolt.Tx
	key      []byte
	inflKeys map[msgKey]struct{}

	sessions, subs, msgs, inflight, qos2in, retained, wills *bolt.Bucket
}

func (w *writer) buckets() {
	tx := w.tx
	w.sessions, w.subs, w.msgs, w.inflight = tx.Bucket(bucketSessions), tx.Bucket(bucketSubs), tx.Bucket(bucketMsgs), tx.Bucket(bucketInflight)
	w.qos2in, w.retained, w.wills = tx.Bucket(bucketQos2In), tx.Bucket(bucketRetained), tx.Bucket(bucketWills)
}

func (w *writer) clientKey(client string, rest ...byte) []byte {
	w.key = append(clientKey(w.key[:0], client), rest...)
	return w.key
}

// seqKey returns the key of a queued message in w's buffer, valid until the
// next key is made (bbolt copies the keys it keeps).
func (w *writer) seqKey(client string, seq uint64) []byte {
	w.key = binary.BigEndian.AppendUint64(clientKey(w.key[:0], client), seq)
	return w.key
}

func (w *writer) apply(ev *Event) error {
	switch ev.Kind {
	case SessionPut:
		return w.sessions.Put([]byte(ev.Client), encodeSession(ev.Session))
	case SessionDel:
		if err := w.sessions.Delete([]byte(ev.Client)); err != nil {
			return err
		}
		if err := w.wills.Delete([]byte(ev.Client)); err != nil {
			return err
		}
		prefix := clientKey(nil, ev.Client)
		for _, bk := range []*bolt.Bucket{w.subs, w.msgs, w.inflight, w.qos2in} {
			if err := deletePrefix(bk, prefix); err != nil {
				return err
			}
		}
		for k := range w.inflKeys {
			if k.client == ev.Client {
				delete(w.inflKeys, k)
			}
		}
		return nil
	case SubPut:
		k := append(clientKey(nil, ev.Client), ev.Sub.Filter...)
		return w.subs.Put(k, encodeSub(ev.Sub))
	case SubDel:
		return w.subs.Delete(append(clientKey(nil, ev.Client), ev.Topic...))
	case MsgPut:
		// The state it was sent with, if any, goes with the message: one
		// write, and its removal one more.
		return w.msgs.Put(w.seqKey(ev.Client, ev.Seq), encodeQueued(ev.Msg.StoreMessage(), ev))
	case MsgDel:
		k := w.seqKey(ev.Client, ev.Seq)
		if err := w.msgs.Delete(k); err != nil {
			return err
		}
		mk := msgKey{ev.Client, ev.Seq}
		if _, ok := w.inflKeys[mk]; !ok {
			return nil
		}
		delete(w.inflKeys, mk)
		return w.inflight.Delete(k)
	case InflightPut:
		w.inflKeys[msgKey{ev.Client, ev.Seq}] = struct{}{}
		return w.inflight.Put(w.seqKey(ev.Client, ev.Seq), inflightValue(ev))
	case Qos2InPut:
		return w.qos2in.Put(binary.BigEndian.AppendUint16(clientKey(nil, ev.Client), ev.PID), []byte{})
	case Qos2InDel:
		return w.qos2in.Delete(binary.BigEndian.AppendUint16(w.clientKey(ev.Client), ev.PID))
	case RetainedPut:
		m := ev.Msg.StoreMessage()
		return w.retained.Put([]byte(m.Topic), encodeMessage(m))
	case RetainedDel:
		return w.retained.Delete([]byte(ev.Topic))
	case WillPut:
		return w.wills.Put([]byte(ev.Client), encodeMessage(ev.Msg.StoreMessage()))
	case WillDel:
		return w.wills.Delete([]byte(ev.Client))
	}
	return fmt.Errorf("unknown event kind %d", ev.Kind)
}

func inflightValue(ev *Event) []byte {
	return append(binary.BigEndian.AppendUint16(make([]byte, 0, 3), ev.PID), ev.State)
}

// deletePrefix deletes every key of bk that starts with prefix.
func deletePrefix(bk *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
