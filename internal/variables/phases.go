package variables

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/diag"
)

// serverless v3 reads some properties before every source is available:
// the ones deciding the stage, the plugins and the service come before
// param, sls:instanceId, the AWS sources and plugin sources exist; the ones
// configuring AWS access come before the AWS sources. A property there that
// needs such a source fails in v3 as "not accessible", so it fails here too.
var earlyProperties []earlyProperty

// earlyProperty is a property v3 reads early and the sources it cannot use
// then (builtin says whether the source is one of ours or a plugin's).
type earlyProperty struct {
	keys        []string
	unavailable func(source string, builtin bool) bool
}

func init() {
	beforeInstance := func(source string, builtin bool) bool {
		switch source {
		case "param", "ssm", "cf", "s3", "aws", "sls:instanceId":
			return true
		}
		return !builtin
	}
	beforeAWS := func(source string, builtin bool) bool {
		switch source {
		case "ssm", "cf", "s3", "aws":
			return true
		}
		return !builtin
	}
	for _, p := range []string{"provider.name", "provider.stage", "useDotenv", "disabledDeprecations",
		"deprecationNotificationMode", "plugins", "package.path", "frameworkVersion", "app", "org", "dashboard", "service"} {
		earlyProperties = append(earlyProperties, earlyProperty{strings.Split(p, "."), beforeInstance})
	}
	for _, p := range []string{"provider.credentials", "provider.deploymentBucket.serverSideEncryption", "provider.profile", "provider.region"} {
		earlyProperties = append(earlyProperties, earlyProperty{strings.Split(p, "."), beforeAWS})
	}
}

// noteUse records that p's value came through source (a type, or
// "sls:instanceId").
func (r *resolver) noteUse(p *prop, source string) {
	if p.used == nil {
		p.used = map[string]bool{}
	}
	p.used[source] = true
}

// inheritUses gives p the sources q's value came through.
func inheritUses(p, q *prop) {
	for s := range q.used {
		if p.used == nil {
			p.used = map[string]bool{}
		}
		p.used[s] = true
	}
}

// checkEarlyProperties reports the properties v3 could not read in time.
func (r *resolver) checkEarlyProperties() diag.Diagnostics {
	var ds diag.Diagnostics
	for _, p := range r.order {
		if p.state != stateDone || len(p.used) == 0 {
			continue
		}
		for _, early := range earlyProperties {
			if !overlaps(p.keys, early.keys) {
				continue
			}
			var late []string
			for s := range p.used {
				_, builtin := sources[strings.SplitN(s, ":", 2)[0]]
				if early.unavailable(s, builtin) {
					late = append(late, s)
				}
			}
			if len(late) == 0 {
				continue
			}
			sort.Strings(late)
			ds.Append(diag.Diagnostic{Severity: diag.Error, Pos: p.holder.Pos, Path: p.path.String(),
				Summary: fmt.Sprintf("%q property is not accessible (configured behind variables which cannot be resolved at this stage)", strings.Join(early.keys, ".")),
				Detail: fmt.Sprintf("Its value comes from %q variables; serverless v3 reads this property before those can be resolved. "+
					"Use a value or ${opt:}, ${env:}, ${self:}, ${file():} instead.", strings.Join(late, `", "`))})
			break
		}
	}
	return ds
}

// overlaps says whether one key path contains the other.
func overlaps(a, b []string) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
