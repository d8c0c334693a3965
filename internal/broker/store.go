package broker

import "sync"

// sessionStore keeps sessions by client identifier. The memory
// implementation is the only one today; a persistent one (bbolt) can take
// the same place.
type sessionStore interface {
	// Get returns the session of id, or nil.
	Get(id string) *session
	// Put stores s under s.id, replacing any previous session.
	Put(s *session)
	// Delete removes the session of id if it is still s.
	Delete(id string, s *session)
	// Len returns the number of stored sessions.
	Len() int
	// Range calls fn for every session until fn returns false.
	Range(fn func(*session) bool)
}

// memStore is the in-memory sessionStore.
type memStore struct {
	mu sync.RWMutex
	m  map[string]*session
}

func newMemStore() *memStore { return &memStore{m: make(map[string]*session)} }

func (s *memStore) Get(id string) *session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[id]
}

func (s *memStore) Put(x *session) {
	s.mu.Lock()
	s.m[x.id] = x
	s.mu.Unlock()
}

func (s *memStore) Delete(id string, x *session) {
	s.mu.Lock()
	if s.m[id] == x {
		delete(s.m, id)
	}
	s.mu.Unlock()
}

func (s *memStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

func (s *memStore) Range(fn func(*session) bool) {
	s.mu.RLock()
	all := make([]*session, 0, len(s.m))
	for _, x := range s.m {
		all = append(all, x)
	}
	s.mu.RUnlock()
	for _, x := range all {
		if !fn(x) {
			return
		}
	}
}
