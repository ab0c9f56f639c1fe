package aws

import (
	"strings"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// v3's mergeIamTemplates: a log group per function (unless disableLogs),
// then IamRoleLambdaExecution unless every function brings its own role or
// the provider names an existing one.
func init() { registerCore(orderIAM, compileIAM) }

func compileIAM(c *Context) {
	if len(c.Svc.Functions) == 0 {
		return
	}
	prov := c.Svc.Provider.Raw
	for _, f := range c.Svc.Functions {
		if f.Raw.Get("disableLogs").Truthy() {
			continue
		}
		props := map[string]any{"LogGroupName": LogGroupName(f.Name)}
		if r := firstTruthy(f.Raw.Get("logRetentionInDays"), prov.Get("logRetentionInDays")); r != nil {
			props["RetentionInDays"] = r.Interface()
		}
		if p := firstTruthy(f.Raw.Get("logDataProtectionPolicy"), prov.Get("logDataProtectionPolicy")); p != nil {
			props["DataProtectionPolicy"] = p.Interface()
		}
		c.Template.AddResource(LogGroupLogicalID(f.Key), "AWS::Logs::LogGroup", props)
	}

	role := prov.Get("iam").Get("role")
	if isExistingRole(role) || prov.Has("role") {
		return
	}
	everyFunctionHasRole := true
	for _, f := range c.Svc.Functions {
		if !f.Raw.Has("role") {
			everyFunctionHasRole = false
		}
	}
	if everyFunctionHasRole {
		return
	}

	path := any("/")
	if p := role.Get("path"); p.Truthy() {
		path = p.Interface()
	}
	roleName := any(cfn.Join("-", c.Svc.Name, c.Svc.Stage, cfn.Ref("AWS::Region"), "lambdaRole"))
	if n := role.Get("name"); n.Truthy() {
		roleName = n.Interface()
	}
	createStmt := map[string]any{
		"Effect":   "Allow",
		"Action":   []any{"logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource"},
		"Resource": []any{},
	}
	putStmt := map[string]any{"Effect": "Allow", "Action": []any{"logs:PutLogEvents"}, "Resource": []any{}}
	props := map[string]any{
		"AssumeRolePolicyDocument": lambdaAssumeRolePolicy(),
		"Policies": []any{map[string]any{
			"PolicyName": cfn.Join("-", c.Svc.Name, c.Svc.Stage, "lambda"),
			"PolicyDocument": map[string]any{
				"Version":   "2012-10-17",
				"Statement": []any{createStmt, putStmt},
			},
		}},
		"Path":     path,
		"RoleName": roleName,
	}
	if tags := role.Get("tags"); tags != nil && tags.Kind == config.Map {
		props["Tags"] = tagList(tags.Pairs)
	}
	if pb := firstTruthy(role.Get("permissionsBoundary"), role.Get("permissionBoundary"), prov.Get("rolePermissionsBoundary")); pb != nil {
		props["PermissionsBoundary"] = pb.Interface()
	}
	c.Template.AddResource(RoleLogicalID, "AWS::IAM::Role", props)

	logArn := func(suffix string) any {
		return cfn.Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + suffix)
	}
	prefix := c.Svc.Name + "-" + c.Svc.Stage
	canonical := false
	var disabledCanonical []string
	for _, f := range c.Svc.Functions {
		disabled := f.Raw.Get("disableLogs").Truthy()
		if strings.HasPrefix(f.Name, prefix) {
			if disabled {
				disabledCanonical = append(disabledCanonical, f.Name)
			} else {
				canonical = true
			}
			continue
		}
		if !disabled {
			createStmt["Resource"] = append(createStmt["Resource"].([]any), logArn(LogGroupName(f.Name)+":*"))
			putStmt["Resource"] = append(putStmt["Resource"].([]any), logArn(LogGroupName(f.Name)+":*:*"))
		}
	}
	if canonical {
		createStmt["Resource"] = append(createStmt["Resource"].([]any), logArn(LogGroupName(prefix)+"*:*"))
		putStmt["Resource"] = append(putStmt["Resource"].([]any), logArn(LogGroupName(prefix)+"*:*:*"))
		if len(disabledCanonical) > 0 {
			var arns []any
			for _, name := range disabledCanonical {
				arns = append(arns, logArn(LogGroupName(name)+":*"))
			}
			c.AddRoleStatements(map[string]any{"Effect": "Deny", "Action": "logs:PutLogEvents", "Resource": arns})
		}
	}

	if st := role.Get("statements"); st.Truthy() {
		c.AddRoleStatements(interfaceItems(st)...)
	} else if st := prov.Get("iamRoleStatements"); st.Truthy() {
		c.AddRoleStatements(interfaceItems(st)...)
	}
	if mp := role.Get("managedPolicies"); mp.Truthy() {
		addManagedPolicies(props, interfaceItems(mp))
	} else if mp := prov.Get("iamManagedPolicies"); mp.Truthy() {
		addManagedPolicies(props, interfaceItems(mp))
	}
	vpc := prov.Get("vpc").Truthy()
	for _, f := range c.Svc.Functions {
		if f.Raw.Has("vpc") {
			vpc = true
		}
	}
	if vpc {
		addManagedPolicies(props, []any{cfn.Join("", "arn:", cfn.Ref("AWS::Partition"),
			":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")})
	}
}

func addManagedPolicies(props map[string]any, policies []any) {
	if len(policies) == 0 {
		return
	}
	list, _ := props["ManagedPolicyArns"].([]any)
	props["ManagedPolicyArns"] = append(list, policies...)
}

// isExistingRole is v3's isExistingRoleProvided: a string (name or ARN) or
// an intrinsic function object (a key containing "::").
func isExistingRole(role *config.Node) bool {
	if role == nil {
		return false
	}
	if role.Kind == config.String {
		return true
	}
	if role.Kind == config.Map {
		for _, p := range role.Pairs {
			if strings.Contains(p.Key, "::") {
				return true
			}
		}
	}
	return false
}

// customExecutionRole is v3's getCustomExecutionRole: function.role, else
// provider.iam.role when it names an existing role, else provider.role.
func (c *Context) customExecutionRole(fn *config.Node) *config.Node {
	if r := fn.Get("role"); r.Truthy() {
		return r
	}
	prov := c.Svc.Provider.Raw
	if r := prov.Get("iam").Get("role"); isExistingRole(r) {
		return r
	}
	if r := prov.Get("role"); r.Truthy() {
		return r
	}
	return nil
}

func firstTruthy(ns ...*config.Node) *config.Node {
	for _, n := range ns {
		if n.Truthy() {
			return n
		}
	}
	return nil
}

func interfaceItems(n *config.Node) []any {
	if n == nil {
		return nil
	}
	if n.Kind != config.Seq {
		return []any{n.Interface()}
	}
	out := make([]any, 0, len(n.Items))
	for _, it := range n.Items {
		out = append(out, it.Interface())
	}
	return out
}

// lambdaAssumeRolePolicy lets Lambda assume a role: the trust policy of
// the execution role and of the custom-resource handlers' role (a new
// document each time, as callers may extend it).
func lambdaAssumeRolePolicy() map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": []any{"lambda.amazonaws.com"}},
			"Action":    []any{"sts:AssumeRole"},
		}},
	}
}
