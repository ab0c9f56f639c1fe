package local

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// AccountID is the account every local resource belongs to: queue URLs,
// topic and function ARNs, event envelopes.
const AccountID = "000000000000"

// DefaultRegion is used when the service names none.
const DefaultRegion = "us-east-1"

// EventBridgeEvent is the envelope EventBridge delivers to a rule's
// targets (schedules are EventBridge rules too); region and account ""
// mean DefaultRegion and AccountID, nil resources an empty list.
func EventBridgeEvent(region, account, source, detailType string, t time.Time, resources []string, detail any) map[string]any {
	if region == "" {
		region = DefaultRegion
	}
	if account == "" {
		account = AccountID
	}
	if resources == nil {
		resources = []string{}
	}
	return map[string]any{
		"version":     "0",
		"id":          fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rand.Uint32(), rand.Uint32()&0xffff, rand.Uint32()&0xfff, 0x8000|rand.Uint32()&0x3fff, rand.Uint64()&0xffffffffffff),
		"detail-type": detailType,
		"source":      source,
		"account":     account,
		"time":        t.UTC().Format("2006-01-02T15:04:05Z"),
		"region":      region,
		"resources":   resources,
		"detail":      detail,
	}
}

// InputPath follows a target's simple InputPath ($, $.detail, $.a.b) into
// a decoded event.
func InputPath(v any, path string) (any, bool) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	if path == "" {
		return v, true
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
