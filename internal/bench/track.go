package bench

// seqWindow is how far back, in sequence numbers, a tracker remembers which messages
// arrived: a message older than that is counted as a duplicate.
const seqWindow = 4096

// tracker follows one publisher's sequence numbers as one subscriber (or one shared
// subscription group) receives them, and counts gaps, duplicates and messages out of
// order. Sequence numbers start at 1.
type tracker struct {
	next       uint64 // the sequence number expected next; 0 before the first message
	first      uint64
	received   int64 // distinct messages
	lost       int64 // sequence numbers skipped and not (yet) received
	duplicates int64
	outOfOrder int64
	seen       [seqWindow / 64]uint64 // bit seq%seqWindow: received, for seq in [next-seqWindow, next)
}

func (t *tracker) bit(seq uint64) (int, uint64) {
	i := seq % seqWindow
	return int(i / 64), 1 << (i % 64)
}

// add records message seq.
func (t *tracker) add(seq uint64) {
	if t.next == 0 {
		// The first message: a subscriber that joins late starts here, not at 1.
		t.first, t.next = seq, seq+1
		t.received++
		w, b := t.bit(seq)
		t.seen[w] |= b
		return
	}
	if seq >= t.next {
		gap := seq - t.next
		if gap >= seqWindow {
			clear(t.seen[:])
		} else {
			for s := t.next; s < seq; s++ {
				w, b := t.bit(s)
				t.seen[w] &^= b
			}
		}
		t.lost += int64(gap)
		t.next = seq + 1
		t.received++
		w, b := t.bit(seq)
		t.seen[w] |= b
		return
	}
	if t.next-seq > seqWindow {
		t.duplicates++ // too old to tell: a redelivery
		return
	}
	if seq < t.first {
		// Older than the first message seen: late (a shared subscription's members
		// race), and the messages between are missing so far.
		t.lost += int64(t.first - seq - 1)
		t.first = seq
		w, b := t.bit(seq)
		t.seen[w] |= b
		t.outOfOrder++
		t.received++
		return
	}
	w, b := t.bit(seq)
	if t.seen[w]&b != 0 {
		t.duplicates++
		return
	}
	// A message from a gap: late, not lost.
	t.seen[w] |= b
	t.lost--
	t.outOfOrder++
	t.received++
}

// last returns the highest sequence number received (0 for none).
func (t *tracker) last() uint64 {
	if t.next == 0 {
		return 0
	}
	return t.next - 1
}
