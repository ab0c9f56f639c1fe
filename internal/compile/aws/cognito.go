package aws

import (
	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
)

// cognitoUserPool events: user pools the service creates
// (CognitoUserPool<Name>) with the functions as Lambda triggers and the
// permissions for Cognito to invoke them, and triggers on existing pools
// through the Custom::CognitoUserPool resource (v3
// events/cognito-user-pool.js).

func init() {
	registerEvent(orderCognitoUserPool, compileCognitoUserPools, "cognitoUserPool")
	// v3 re-merges user overrides of a created pool after the `resources`
	// section is merged (after:package:finalize).
	registerFinal(orderCognitoOverrides, mergeCognitoPoolOverrides)
}

// orderCognitoOverrides runs after the `resources` merge (20) and before
// null stripping (30).
const orderCognitoOverrides = 25

// cognitoCustomSenderSources need a KMS key and a Lambda version.
var cognitoCustomSenderSources = map[string]bool{"CustomSMSSender": true, "CustomEmailSender": true}

const cognitoDefaultLambdaVersion = "V1_0"

type cognitoTrigger struct {
	fe            FunctionEvent
	pool, trigger string
	kmsKeyID      *config.Node
	lambdaVersion *config.Node
}

func compileCognitoUserPools(c *Context) {
	compileNewCognitoUserPools(c)
	compileExistingCognitoUserPools(c)
}

// newCognitoTriggers lists triggers on pools the service creates, and the
// pools in first-seen order.
func newCognitoTriggers(c *Context) ([]cognitoTrigger, []string) {
	var triggers []cognitoTrigger
	var pools []string
	for _, fe := range c.EventsOf("cognitoUserPool") {
		v := fe.Event.Value
		if v.Get("existing").Truthy() {
			continue
		}
		t := cognitoTrigger{fe: fe, pool: v.Get("pool").Scalar0(), trigger: v.Get("trigger").Scalar0(),
			kmsKeyID: v.Get("kmsKeyId"), lambdaVersion: v.Get("lambdaVersion")}
		triggers = append(triggers, t)
		if !stringsHas(pools, t.pool) {
			pools = append(pools, t.pool)
		}
	}
	return triggers, pools
}

func compileNewCognitoUserPools(c *Context) {
	triggers, pools := newCognitoTriggers(c)
	for _, pool := range pools {
		res, ok := cognitoPoolResource(c, pool, triggers)
		if !ok {
			return
		}
		mergeEventResources(c.Template, map[string]any{CognitoUserPoolLogicalID(pool): res})
	}
	for _, t := range triggers {
		f := t.fe.Function
		mergeEventResources(c.Template, map[string]any{
			CognitoUserPoolPermissionLogicalID(f.Key, t.pool, t.trigger): invokePermission(lambdaTarget(f),
				"cognito-idp.amazonaws.com", cfn.GetAtt(CognitoUserPoolLogicalID(t.pool), "Arn"), aliasDependsOn(f)),
		})
	}
}

// cognitoPoolResource is v3's generateTemplateForPool.
func cognitoPoolResource(c *Context, pool string, all []cognitoTrigger) (map[string]any, bool) {
	lambdaConfig := map[string]any{}
	dependsOn := []any{}
	kms := map[string]*config.Node{}
	for _, t := range all {
		if t.pool != pool {
			continue
		}
		f := t.fe.Function
		if cognitoCustomSenderSources[t.trigger] {
			version := eventValue(t.lambdaVersion)
			if !t.lambdaVersion.Truthy() {
				version = cognitoDefaultLambdaVersion
			}
			lambdaConfig[t.trigger] = map[string]any{"LambdaArn": lambdaTarget(f), "LambdaVersion": version}
			if !checkCognitoKMSKey(c, t.fe, t.kmsKeyID, kms, pool) {
				return nil, false
			}
			lambdaConfig["KMSKeyID"] = eventValue(t.kmsKeyID)
		} else {
			lambdaConfig[t.trigger] = lambdaTarget(f)
		}
		if _, alias := eventTargetAlias(f); alias != "" {
			dependsOn = append(dependsOn, alias)
		} else {
			dependsOn = append(dependsOn, FunctionLogicalID(f.Key))
		}
	}
	return map[string]any{
		"Type":       "AWS::Cognito::UserPool",
		"Properties": map[string]any{"UserPoolName": pool, "LambdaConfig": lambdaConfig},
		"DependsOn":  dependsOn,
	}, true
}

// checkCognitoKMSKey enforces v3's rule that custom sender triggers carry
// a KMS key, the same one for every trigger of a pool.
func checkCognitoKMSKey(c *Context, fe FunctionEvent, key *config.Node, seen map[string]*config.Node, pool string) bool {
	if !key.Truthy() {
		c.Diags.Errorf(eventPos(fe, "trigger"), eventPath(fe),
			`KMS Key must be set when using a Custom Sender Source Trigger (CustomSMSSender and/or CustomEmailSender). Affected Cognito User Pool: "%s".`, pool)
		return false
	}
	if prev, ok := seen[pool]; ok && stringifyNode(prev) != stringifyNode(key) {
		c.Diags.Errorf(eventPos(fe, "kmsKeyId"), valuePath(fe, "kmsKeyId"),
			`Only one KMS Key for can be configured per Cognito User Pool. Affected Cognito User Pool: "%s".`, pool)
		return false
	}
	seen[pool] = key
	return true
}

func compileExistingCognitoUserPools(c *Context) {
	var statements []any
	used := false
	poolResources := map[string][]string{}
	var poolOrder []string
	kms := map[string]*config.Node{}
	handlerID := CustomResourceFunctionLogicalIDOf(CustomResourceCognitoUserPool)
	for _, f := range c.Svc.Functions {
		count := 0
		current := ""
		fnUses := false
		for _, e := range f.Events {
			if e.Type != "cognitoUserPool" || !e.Value.Get("existing").Truthy() {
				continue
			}
			fe := FunctionEvent{Function: f, Event: e}
			v := e.Value
			count++
			used, fnUses = true, true
			pool, trigger := v.Get("pool").Scalar0(), v.Get("trigger").Scalar0()
			if current == "" {
				current = pool
			}
			if pool != current {
				c.Diags.Errorf(eventPos(fe, "pool"), valuePath(fe, "pool"),
					`Only one Cognito User Pool can be configured per function. In "%s" you're attempting to configure "%s" and "%s" at the same time.`,
					f.Name, current, pool)
				return
			}
			id := CustomCognitoUserPoolResourceLogicalID(f.Key)
			if _, seen := poolResources[pool]; !seen {
				poolOrder = append(poolOrder, pool)
			}
			if !stringsHas(poolResources[pool], id) {
				poolResources[pool] = append(poolResources[pool], id)
			}
			poolConfig := map[string]any{"Trigger": trigger}
			kmsKey := v.Get("kmsKeyId")
			if cognitoCustomSenderSources[trigger] {
				poolConfig["LambdaVersion"] = cognitoDefaultLambdaVersion
				if lv := v.Get("lambdaVersion"); lv.Truthy() {
					poolConfig["LambdaVersion"] = eventValue(lv)
				}
				if !checkCognitoKMSKey(c, fe, kmsKey, kms, pool) {
					return
				}
				poolConfig["KMSKeyID"] = eventValue(kmsKey)
			}
			if count == 1 {
				if cognitoCustomSenderSources[trigger] && kmsKey.Truthy() {
					statements = append(statements, map[string]any{
						"Effect": "Allow", "Resource": eventValue(kmsKey), "Action": []any{"kms:CreateGrant"},
					})
				}
				props := map[string]any{
					"ServiceToken":    cfn.GetAtt(handlerID, "Arn"),
					"FunctionName":    f.Name,
					"UserPoolName":    pool,
					"UserPoolConfigs": []any{poolConfig},
				}
				if v.Get("forceDeploy").Truthy() {
					props["ForceDeploy"] = forceDeployMillis()
				}
				mergeEventResources(c.Template, map[string]any{id: map[string]any{
					"Type":       "Custom::CognitoUserPool",
					"Version":    1.0,
					"DependsOn":  []any{FunctionLogicalID(f.Key), handlerID},
					"Properties": props,
				}})
				statements = append(statements, map[string]any{
					"Effect":   "Allow",
					"Resource": "*",
					"Action":   []any{"cognito-idp:ListUserPools", "cognito-idp:DescribeUserPool", "cognito-idp:UpdateUserPool"},
				})
			} else {
				props := c.Template.Resource(id)["Properties"].(map[string]any)
				props["UserPoolConfigs"] = append(props["UserPoolConfigs"].([]any), poolConfig)
			}
		}
		if fnUses {
			statements = append(statements, map[string]any{
				"Effect":   "Allow",
				"Resource": cfn.Sub("arn:${AWS::Partition}:lambda:*:*:function:" + f.Name),
				"Action":   []any{"lambda:AddPermission", "lambda:RemovePermission"},
			})
		}
	}
	if used {
		statements = append(statements, map[string]any{
			"Effect":   "Allow",
			"Resource": cfn.Sub("arn:${AWS::Partition}:iam::*:role/*"),
			"Action":   []any{"iam:PassRole"},
		})
	}
	chainCustomResources(c, poolOrder, poolResources)
	if len(statements) > 0 {
		addCustomResource(c, CustomResourceCognitoUserPool, statements)
	}
}

// mergeCognitoPoolOverrides is v3's mergeWithCustomResources. v3 looks the
// pool up directly under `resources` (not resources.Resources), so only a
// pool declared there is re-merged: its properties over the generated pool,
// DependsOn being the generated dependencies followed by the user's own.
func mergeCognitoPoolOverrides(c *Context) {
	triggers, pools := newCognitoTriggers(c)
	userResources := c.Svc.Root.Get("resources")
	for _, pool := range pools {
		id := CognitoUserPoolLogicalID(pool)
		override := userResources.Get(id)
		if !override.Truthy() {
			continue
		}
		generated, ok := cognitoPoolResource(c, pool, triggers)
		if !ok {
			return
		}
		deps := generated["DependsOn"].([]any)
		if d := override.Get("DependsOn"); d != nil {
			if d.Kind == config.Seq {
				deps = append(deps, eventValue(d).([]any)...)
			} else {
				deps = append(deps, eventValue(d))
			}
		}
		merged := lodashMergeValue(generated, eventValue(override)).(map[string]any)
		merged["DependsOn"] = deps
		mergeEventResources(c.Template, map[string]any{id: merged})
	}
}
