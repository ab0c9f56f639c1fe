// Package queue is the local SQS: durable queues with SQS semantics
// (at-least-once delivery, visibility timeouts, delays, FIFO groups and
// deduplication, redrive to a dead-letter queue after maxReceiveCount),
// stored in bbolt under the service's .nimbus folder so an accepted
// message survives kill -9. It also polls queues for `sqs` events the way
// Lambda's event source mapping does.
package queue

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/internal/local"
	bolt "go.etcd.io/bbolt"
)

// Account is the account id in local queue URLs and ARNs.
const Account = local.AccountID

// Config is a queue's settings.
type Config struct {
	Name              string        `json:"name"`
	FIFO              bool          `json:"fifo,omitempty"`
	ContentDedup      bool          `json:"contentDedup,omitempty"`
	VisibilityTimeout time.Duration `json:"visibilityTimeout"`
	Delay             time.Duration `json:"delay,omitempty"`
	Retention         time.Duration `json:"retention,omitempty"`
	// DeadLetter names the queue that receives messages received more than
	// MaxReceiveCount times.
	DeadLetter      string `json:"deadLetter,omitempty"`
	MaxReceiveCount int    `json:"maxReceiveCount,omitempty"`
}

// Attribute is an SQS message attribute.
type Attribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// Message is one message as a receiver sees it.
type Message struct {
	Seq            uint64               `json:"seq"`
	ID             string               `json:"id"`
	Body           string               `json:"body"`
	MD5            string               `json:"md5"`
	Attributes     map[string]Attribute `json:"attrs,omitempty"`
	SentAt         int64                `json:"sentAt"` // ms
	VisibleAt      int64                `json:"visibleAt"`
	ReceiveCount   int                  `json:"receiveCount"`
	FirstReceiveAt int64                `json:"firstReceiveAt,omitempty"`
	GroupID        string               `json:"groupId,omitempty"`
	DedupID        string               `json:"dedupId,omitempty"`
	SequenceNumber string               `json:"sequenceNumber,omitempty"`
	// ReceiptHandle is set on each receive and changes every time.
	ReceiptHandle string `json:"-"`
}

// Errors the API maps to SQS error codes.
var (
	ErrNoQueue       = errors.New("AWS.SimpleQueueService.NonExistentQueue: the specified queue does not exist")
	ErrBadReceipt    = errors.New("ReceiptHandleIsInvalid: the receipt handle is not valid")
	ErrMissingGroup  = errors.New("MissingParameter: MessageGroupId is required for FIFO queues")
	ErrMissingDedup  = errors.New("InvalidParameterValue: the queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	ErrNotVisibleNow = errors.New("MessageNotInflight: the message is not in flight")
)

var queuesBucket = []byte("queues")

// Store holds every queue of one service.
type Store struct {
	db  *bolt.DB
	Now func() time.Time

	mu     sync.Mutex
	queues map[string]*Queue
}

// Open opens (creating) the bbolt file and loads every queue in it.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s is locked: is another nimbus dev running for this service?", path)
		}
		return nil, err
	}
	s := &Store{db: db, Now: time.Now, queues: map[string]*Queue{}}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(queuesBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var cfg Config
			if err := json.Unmarshal(v, &cfg); err != nil {
				return err
			}
			q := s.newQueue(cfg)
			mb := tx.Bucket(msgBucket(cfg.Name))
			if mb == nil {
				return nil
			}
			return mb.ForEach(func(k, v []byte) error {
				var m Message
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				// In-flight messages become visible again after a restart:
				// the receiver that held them is gone.
				m.VisibleAt = 0
				q.msgs = append(q.msgs, &m)
				if m.Seq > q.seq {
					q.seq = m.Seq
				}
				return nil
			})
		})
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func msgBucket(name string) []byte { return []byte("q:" + name) }

func (s *Store) newQueue(cfg Config) *Queue {
	q := &Queue{s: s, cfg: cfg, byReceipt: map[string]*Message{}, wake: make(chan struct{}), dedup: map[string]int64{}}
	s.queues[cfg.Name] = q
	return q
}

// Ensure creates a queue or updates its settings; messages are kept.
func (s *Store) Ensure(cfg Config) (*Queue, error) {
	if cfg.VisibilityTimeout == 0 {
		cfg.VisibilityTimeout = 30 * time.Second
	}
	if strings.HasSuffix(cfg.Name, ".fifo") {
		cfg.FIFO = true
	}
	data, _ := json.Marshal(cfg)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(msgBucket(cfg.Name)); err != nil {
			return err
		}
		return tx.Bucket(queuesBucket).Put([]byte(cfg.Name), data)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[cfg.Name]; q != nil {
		q.mu.Lock()
		q.cfg = cfg
		q.mu.Unlock()
		return q, nil
	}
	return s.newQueue(cfg), nil
}

// Queue returns a queue by name.
func (s *Store) Queue(name string) (*Queue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[name]; q != nil {
		return q, nil
	}
	return nil, ErrNoQueue
}

// Names lists the queues, sorted.
func (s *Store) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.queues))
	for n := range s.queues {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Queue is one local queue.
type Queue struct {
	s   *Store
	cfg Config

	mu        sync.Mutex
	seq       uint64
	msgs      []*Message // in send order
	byReceipt map[string]*Message
	wake      chan struct{} // closed when messages arrive or become visible
	dedup     map[string]int64
}

// Config returns the queue's settings.
func (q *Queue) Config() Config { q.mu.Lock(); defer q.mu.Unlock(); return q.cfg }

// Name is the queue's name.
func (q *Queue) Name() string { return q.cfg.Name }

func (q *Queue) now() int64 { return q.s.Now().UnixMilli() }

// SendInput is one message to send.
type SendInput struct {
	Body       string
	Attributes map[string]Attribute
	// Delay overrides the queue's delay when non-nil.
	Delay   *time.Duration
	GroupID string
	DedupID string
}

// Send stores messages durably; when it returns nil they survive a crash.
func (q *Queue) Send(in ...SendInput) ([]*Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	var out, stored []*Message
	for _, m := range in {
		if q.cfg.FIFO {
			if m.GroupID == "" {
				return nil, ErrMissingGroup
			}
			if m.DedupID == "" {
				if !q.cfg.ContentDedup {
					return nil, ErrMissingDedup
				}
				sum := sha256Hex(m.Body)
				m.DedupID = sum
			}
		}
		delay := q.cfg.Delay
		if m.Delay != nil && !q.cfg.FIFO {
			delay = *m.Delay
		}
		msg := &Message{
			ID: newID(), Body: m.Body, MD5: md5Hex(m.Body), Attributes: m.Attributes,
			SentAt: now, VisibleAt: now + delay.Milliseconds(), GroupID: m.GroupID, DedupID: m.DedupID,
		}
		if q.cfg.FIFO {
			if t, ok := q.dedup[m.DedupID]; ok && now-t < 5*60*1000 {
				// A duplicate within the deduplication interval is accepted
				// and dropped, as SQS does.
				out = append(out, msg)
				continue
			}
			q.dedup[m.DedupID] = now
		}
		q.seq++
		msg.Seq = q.seq
		if q.cfg.FIFO {
			msg.SequenceNumber = fmt.Sprintf("%020d", msg.Seq)
		}
		out = append(out, msg)
		stored = append(stored, msg)
	}
	if err := q.persist(stored, nil); err != nil {
		q.seq -= uint64(len(stored))
		return nil, err
	}
	q.msgs = append(q.msgs, stored...)
	q.signal()
	return out, nil
}

// persist writes and deletes messages in one transaction.
func (q *Queue) persist(put []*Message, del []*Message) error {
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	return q.s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(msgBucket(q.cfg.Name))
		if err != nil {
			return err
		}
		var k [8]byte
		for _, m := range put {
			binary.BigEndian.PutUint64(k[:], m.Seq)
			data, _ := json.Marshal(m)
			if err := b.Put(k[:], data); err != nil {
				return err
			}
		}
		for _, m := range del {
			binary.BigEndian.PutUint64(k[:], m.Seq)
			if err := b.Delete(k[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *Queue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// Receive returns up to max visible messages, hiding them for visibility
// (the queue's timeout when zero). With wait > 0 it long-polls.
func (q *Queue) Receive(ctx context.Context, max int, visibility, wait time.Duration) ([]*Message, error) {
	if max <= 0 {
		max = 1
	}
	deadline := time.Now().Add(wait)
	for {
		msgs, nextVisible, wake, err := q.tryReceive(max, visibility)
		if err != nil || len(msgs) > 0 || wait <= 0 {
			return msgs, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if nextVisible > 0 && nextVisible < left {
			left = nextVisible
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (q *Queue) tryReceive(max int, visibility time.Duration) (out []*Message, nextVisible time.Duration, wake chan struct{}, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if visibility == 0 {
		visibility = q.cfg.VisibilityTimeout
	}
	now := q.now()
	var toDLQ []*Message
	busyGroups := map[string]bool{}
	if q.cfg.FIFO {
		for _, m := range q.msgs {
			if m.VisibleAt > now && m.ReceiveCount > 0 {
				busyGroups[m.GroupID] = true
			}
		}
	}
	var earliest int64
	for _, m := range q.msgs {
		if len(out) >= max {
			break
		}
		if m.VisibleAt > now {
			if earliest == 0 || m.VisibleAt < earliest {
				earliest = m.VisibleAt
			}
			continue
		}
		if q.cfg.FIFO {
			if busyGroups[m.GroupID] {
				continue
			}
		}
		if q.cfg.DeadLetter != "" && q.cfg.MaxReceiveCount > 0 && m.ReceiveCount >= q.cfg.MaxReceiveCount {
			toDLQ = append(toDLQ, m)
			continue
		}
		if m.ReceiptHandle != "" {
			delete(q.byReceipt, m.ReceiptHandle)
		}
		m.ReceiveCount++
		if m.FirstReceiveAt == 0 {
			m.FirstReceiveAt = now
		}
		m.VisibleAt = now + visibility.Milliseconds()
		m.ReceiptHandle = newID() + "#" + m.ID
		q.byReceipt[m.ReceiptHandle] = m
		if q.cfg.FIFO {
			busyGroups[m.GroupID] = true
		}
		cp := *m
		out = append(out, &cp)
	}
	if len(toDLQ) > 0 {
		if err := q.moveToDLQ(toDLQ); err != nil {
			return nil, 0, nil, err
		}
	}
	// Receive counts are persisted so redrive still happens after a restart.
	var put []*Message
	for _, m := range out {
		put = append(put, q.byReceipt[m.ReceiptHandle])
	}
	if err := q.persist(put, nil); err != nil {
		return nil, 0, nil, err
	}
	if earliest > 0 {
		nextVisible = time.Duration(earliest-now) * time.Millisecond
	}
	return out, nextVisible, q.wake, nil
}

// moveToDLQ sends messages to the dead-letter queue, then removes them
// here; a crash in between duplicates rather than loses them.
func (q *Queue) moveToDLQ(msgs []*Message) error {
	dlq, err := q.s.Queue(q.cfg.DeadLetter)
	if err != nil {
		return fmt.Errorf("dead-letter queue %s of %s: %w", q.cfg.DeadLetter, q.cfg.Name, err)
	}
	in := make([]SendInput, len(msgs))
	zero := time.Duration(0)
	for i, m := range msgs {
		in[i] = SendInput{Body: m.Body, Attributes: m.Attributes, Delay: &zero, GroupID: m.GroupID, DedupID: m.ID}
	}
	if _, err := dlq.Send(in...); err != nil {
		return err
	}
	q.removeLocked(msgs)
	return q.persist(nil, msgs)
}

func (q *Queue) removeLocked(msgs []*Message) {
	drop := map[*Message]bool{}
	for _, m := range msgs {
		drop[m] = true
		if m.ReceiptHandle != "" {
			delete(q.byReceipt, m.ReceiptHandle)
		}
	}
	kept := q.msgs[:0]
	for _, m := range q.msgs {
		if !drop[m] {
			kept = append(kept, m)
		}
	}
	for i := len(kept); i < len(q.msgs); i++ {
		q.msgs[i] = nil
	}
	q.msgs = kept
}

// Delete removes messages by receipt handle. Unknown handles of messages
// already deleted succeed, as in SQS; malformed ones fail.
func (q *Queue) Delete(receipts ...string) []error {
	q.mu.Lock()
	defer q.mu.Unlock()
	errs := make([]error, len(receipts))
	var del []*Message
	for i, r := range receipts {
		m := q.byReceipt[r]
		if m == nil {
			if !strings.Contains(r, "#") {
				errs[i] = ErrBadReceipt
			}
			continue
		}
		del = append(del, m)
	}
	q.removeLocked(del)
	if err := q.persist(nil, del); err != nil {
		for i := range errs {
			errs[i] = err
		}
	}
	q.signal() // a deleted FIFO message frees its group
	return errs
}

// ChangeVisibility sets when a received message becomes visible again.
func (q *Queue) ChangeVisibility(receipt string, timeout time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.byReceipt[receipt]
	if m == nil {
		return ErrBadReceipt
	}
	m.VisibleAt = q.now() + timeout.Milliseconds()
	if timeout == 0 {
		q.signal()
	}
	return nil
}

// Purge deletes every message.
func (q *Queue) Purge() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	all := append([]*Message(nil), q.msgs...)
	q.removeLocked(all)
	return q.persist(nil, all)
}

// Counts returns visible, in-flight and delayed message counts.
func (q *Queue) Counts() (visible, inFlight, delayed int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for _, m := range q.msgs {
		switch {
		case m.VisibleAt <= now:
			visible++
		case m.ReceiveCount > 0:
			inFlight++
		default:
			delayed++
		}
	}
	return
}

// Bodies returns the bodies of every stored message, in order (for tests
// and `nimbus dev` diagnostics).
func (q *Queue) Bodies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, len(q.msgs))
	for i, m := range q.msgs {
		out[i] = m.Body
	}
	return out
}

func newID() string {
	a, b := rand.Uint64(), rand.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
