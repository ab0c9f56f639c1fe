package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// StackSettings are the stack-level parameters v3 sends with CreateStack,
// UpdateStack and CreateChangeSet (get-shared-stack-action-params.js,
// get-update-stack-params.js); they are not part of the template.
type StackSettings struct {
	Name         string
	Tags         []Tag
	Capabilities []string
	// RoleARN is provider.iam.deploymentRole (or legacy cfnRole); may be an
	// intrinsic the deployer cannot resolve, then it is any.
	RoleARN          any
	NotificationARNs []any
	Parameters       []any
	// StackPolicyBody is {"Statement": provider.stackPolicy} as JSON, "" when unset.
	StackPolicyBody       string
	RollbackConfiguration any
	DisableRollback       bool
}

// Tag is one stack tag.
type Tag struct{ Key, Value string }

// StackSettingsOf reads the stack settings of a service; tmpl decides
// whether CAPABILITY_AUTO_EXPAND is needed (a Transform).
func StackSettingsOf(svc *service.Service, tmpl *cfn.Template) StackSettings {
	prov := svc.Provider.Raw
	s := StackSettings{
		Name:             svc.StackName(),
		Capabilities:     []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"},
		NotificationARNs: []any{},
		Parameters:       []any{},
	}
	s.Tags = []Tag{{"STAGE", svc.Stage}}
	if st := prov.Get("stackTags"); st != nil && st.Kind == config.Map {
		for _, p := range st.Pairs {
			if strings.EqualFold(p.Key, "STAGE") && len(s.Tags) > 0 && s.Tags[0].Key == "STAGE" {
				s.Tags = s.Tags[1:]
			}
		}
		for _, p := range st.Pairs {
			s.Tags = append(s.Tags, Tag{p.Key, p.Value.Scalar()})
		}
	}
	if tmpl != nil && tmpl.Transform != nil {
		s.Capabilities = append(s.Capabilities, "CAPABILITY_AUTO_EXPAND")
	}
	if r := prov.Get("iam").Get("deploymentRole"); r.Truthy() {
		s.RoleARN = r.Interface()
	} else if r := prov.Get("cfnRole"); r.Truthy() {
		s.RoleARN = r.Interface()
	}
	if n := prov.Get("notificationArns"); n.Truthy() {
		s.NotificationARNs = interfaceItems(n)
	}
	if n := prov.Get("stackParameters"); n.Truthy() {
		s.Parameters = interfaceItems(n)
	}
	if sp := prov.Get("stackPolicy"); sp.Truthy() && len(sp.Items) > 0 {
		body, _ := cfn.MarshalCompact(map[string]any{"Statement": sp.Interface()})
		s.StackPolicyBody = string(body)
	}
	if rc := prov.Get("rollbackConfiguration"); rc.Truthy() {
		s.RollbackConfiguration = rc.Interface()
	}
	s.DisableRollback = prov.Get("disableRollback").Truthy()
	return s
}
