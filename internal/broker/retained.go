package broker

import (
	"sync"
)

// retainedStore holds the last retained message per topic name.
type retainedStore struct {
	mu   sync.RWMutex
	msgs map[string]*message
}

// set stores m as the retained message of its topic; an empty payload
// deletes it instead [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func (r *retainedStore) set(m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.payload) == 0 {
		delete(r.msgs, m.topic)
		return
	}
	if r.msgs == nil {
		r.msgs = make(map[string]*message)
	}
	r.msgs[m.topic] = m
}

// match returns the retained messages whose topic matches filter (without
// any $share prefix), skipping expired ones.
func (r *retainedStore) match(filter string, nowNano int64) []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !hasWildcard(filter) {
		if m := r.msgs[filter]; m != nil && !m.expired(nowNano) {
			return []*message{m}
		}
		return nil
	}
	var out []*message
	for topic, m := range r.msgs {
		if matchFilter(filter, topic) && !m.expired(nowNano) {
			out = append(out, m)
		}
	}
	return out
}

func hasWildcard(filter string) bool {
	for i := 0; i < len(filter); i++ {
		if filter[i] == '+' || filter[i] == '#' {
			return true
		}
	}
	return false
}
