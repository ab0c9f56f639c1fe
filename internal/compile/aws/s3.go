package aws

import (
	"regexp"
	"time"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// s3 events: buckets the service creates (S3Bucket<Name>, configured from
// provider.s3 when named there) with their Lambda notifications and invoke
// permissions, and notifications on existing buckets through the Custom::S3
// resource (v3 events/s3/index.js).

func init() { registerEvent(orderS3, compileS3, "s3") }

// forceDeployMillis is Date.now() for forceDeploy; a variable so tests can pin it.
var forceDeployMillis = func() int64 { return time.Now().UnixMilli() }

func compileS3(c *Context) {
	compileNewS3Buckets(c)
	compileExistingS3Buckets(c)
}

var (
	bucketNameLabels = regexp.MustCompile(`^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$`)
	ipv4Like         = regexp.MustCompile(`^(\d{1,3}\.){3}\d{1,3}$`)
)

// validBucketName is v3's awsS3BucketName pattern (written without the
// negative lookahead Go's regexp lacks).
func validBucketName(name string) bool {
	return bucketNameLabels.MatchString(name) && !ipv4Like.MatchString(name)
}

type s3Subscription struct {
	function *service.Function
	bucket   string
}

func compileNewS3Buckets(c *Context) {
	providerS3 := c.Svc.Provider.Raw.Get("s3")
	var order []string            // bucket names in first-seen order
	configs := map[string][]any{} // bucket name → LambdaConfigurations
	refOf := map[string]string{}  // bucket name → provider.s3 key
	var subscriptions []s3Subscription
	for _, fe := range c.EventsOf("s3") {
		v := fe.Event.Value
		if v != nil && v.Kind == config.Map && v.Get("existing").Truthy() {
			continue
		}
		event := "s3:ObjectCreated:*"
		var filter any
		var bucketRef string
		if v != nil && v.Kind == config.Map {
			b := v.Get("bucket")
			if b != nil && (b.Kind == config.Map || b.Kind == config.Seq) {
				explainedError(c, eventPos(fe, "bucket"), valuePath(fe, "bucket"),
					"A bucket the service creates needs a plain name. To subscribe to a bucket defined elsewhere (in resources or another stack), add `existing: true`.",
					`When specifying "s3.bucket" with CloudFormation intrinsic function, you need to specify that the bucket is existing via "existing: true" property.`)
				continue
			}
			bucketRef = b.Scalar0()
			if e := v.Get("event"); e.Truthy() {
				event = e.Scalar()
			}
			if rules := v.Get("rules"); rules.Truthy() {
				filter = map[string]any{"S3Key": map[string]any{"Rules": s3Rules(rules, false)}}
			}
		} else {
			bucketRef = v.Scalar0()
		}
		bucketName := bucketRef
		if pb := providerS3.Get(bucketRef); pb.Truthy() {
			bucketName = pb.Get("name").StringOr(bucketRef)
			if bucketName == "" {
				bucketName = bucketRef
			}
			refOf[bucketName] = bucketRef
		}
		if !validBucketName(bucketName) {
			explainedError(c, eventPos(fe, "bucket"), eventPath(fe),
				"S3 bucket names are 3-63 characters of lowercase letters, digits, dots and hyphens, start and end with a letter or digit, and are not IP addresses.",
				`%s - Bucket name must conform to pattern (?!^(\d{1,3}\.){3}\d{1,3}$)(^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$). Please check provider.s3.%s and/or s3 events of function "%s".`,
				bucketName, bucketRef, fe.Function.Key)
			continue
		}
		lc := map[string]any{"Event": event, "Function": lambdaTarget(fe.Function)}
		if filter != nil {
			lc["Filter"] = filter
		}
		if _, seen := configs[bucketName]; !seen {
			order = append(order, bucketName)
		}
		configs[bucketName] = append(configs[bucketName], lc)
		subscriptions = append(subscriptions, s3Subscription{fe.Function, bucketName})
	}

	// permissionKey is the name v3 uses in the permission's logical ID: the
	// provider.s3 key when the bucket is configured there.
	permissionKey := func(bucket string) string {
		if ref, ok := refOf[bucket]; ok {
			return ref
		}
		return bucket
	}

	for _, bucketName := range order {
		props := map[string]any{"BucketName": bucketName}
		notification := map[string]any{"LambdaConfigurations": configs[bucketName]}
		if ref, ok := refOf[bucketName]; ok {
			for _, p := range providerS3.Get(ref).Pairs {
				if p.Key == "name" {
					continue
				}
				key := UpperFirst(p.Key)
				if key == "NotificationConfiguration" {
					if p.Value != nil && p.Value.Kind == config.Map {
						for _, np := range p.Value.Pairs {
							notification[np.Key] = eventValue(np.Value)
						}
					}
					continue
				}
				props[key] = eventValue(p.Value)
			}
		}
		props["NotificationConfiguration"] = notification
		dependsOn := []any{}
		for _, s := range subscriptions {
			if s.bucket != bucketName {
				continue
			}
			dependsOn = append(dependsOn, S3PermissionLogicalID(s.function.Key, permissionKey(bucketName)))
			if _, alias := eventTargetAlias(s.function); alias != "" {
				dependsOn = append(dependsOn, alias)
			}
		}
		id := BucketLogicalID(bucketName)
		if ref, ok := refOf[bucketName]; ok {
			id = BucketLogicalID(ref)
		}
		mergeEventResources(c.Template, map[string]any{id: map[string]any{
			"Type":       "AWS::S3::Bucket",
			"Properties": props,
			"DependsOn":  dependsOn,
		}})
	}

	for _, s := range subscriptions {
		perm := invokePermission(lambdaTarget(s.function), "s3.amazonaws.com",
			cfn.Join("", "arn:", cfn.Ref("AWS::Partition"), ":s3:::"+s.bucket), aliasDependsOn(s.function))
		perm["Properties"].(map[string]any)["SourceAccount"] = cfn.Ref("AWS::AccountId")
		mergeEventResources(c.Template, map[string]any{S3PermissionLogicalID(s.function.Key, permissionKey(s.bucket)): perm})
	}
}

// s3Rules turns [{prefix: a}, {suffix: b}] into notification rules:
// {Name, Value} for created buckets, {Prefix: a} (start-cased key) for the
// custom resource.
func s3Rules(rules *config.Node, startCase bool) []any {
	out := []any{}
	for _, r := range rules.Items {
		if r == nil || r.Kind != config.Map || len(r.Pairs) == 0 {
			continue
		}
		p := r.Pairs[0]
		if startCase {
			out = append(out, map[string]any{lodashStartCase(p.Key): eventValue(p.Value)})
		} else {
			out = append(out, map[string]any{"Name": p.Key, "Value": eventValue(p.Value)})
		}
	}
	return out
}

func compileExistingS3Buckets(c *Context) {
	var statements []any
	used := false
	bucketResources := map[string][]string{} // bucket → custom resource IDs, in order
	var bucketOrder []string
	for _, f := range c.Svc.Functions {
		count := 0
		current := ""
		for _, e := range f.Events {
			v := e.Value
			if e.Type != "s3" || v == nil || v.Kind != config.Map || !v.Get("existing").Truthy() {
				continue
			}
			fe := FunctionEvent{Function: f, Event: e}
			count++
			used = true
			bucket := v.Get("bucket")
			bucketKey := bucket.Scalar0()
			if bucket != nil && !bucket.IsScalar() {
				bucketKey = stringifyNode(bucket)
			}
			event := "s3:ObjectCreated:*"
			if ev := v.Get("event"); ev.Truthy() {
				event = ev.Scalar()
			}
			if current == "" {
				current = bucketKey
			}
			if bucketKey != current {
				explainedError(c, eventPos(fe, "bucket"), valuePath(fe, "bucket"),
					"Each function can subscribe to one existing bucket; use another function for the second bucket.",
					`Only one S3 Bucket can be configured per function. In "%s" you're attempting to configure "%s" and "%s" at the same time.`,
					f.Name, current, bucketKey)
				return
			}
			rules := []any{}
			if r := v.Get("rules"); r != nil {
				rules = s3Rules(r, true)
			}
			id := CustomS3ResourceLogicalID(f.Key)
			if _, seen := bucketResources[bucketKey]; !seen {
				bucketOrder = append(bucketOrder, bucketKey)
			}
			if !stringsHas(bucketResources[bucketKey], id) {
				bucketResources[bucketKey] = append(bucketResources[bucketKey], id)
			}
			bucketConfig := map[string]any{"Event": event, "Rules": rules}
			if count == 1 {
				handlerID := CustomResourceFunctionLogicalIDOf(CustomResourceS3)
				props := map[string]any{
					"ServiceToken":  cfn.GetAtt(handlerID, "Arn"),
					"FunctionName":  f.Name,
					"BucketName":    eventValue(bucket),
					"BucketConfigs": []any{bucketConfig},
				}
				if v.Get("forceDeploy").Truthy() {
					props["ForceDeploy"] = forceDeployMillis()
				}
				mergeEventResources(c.Template, map[string]any{id: map[string]any{
					"Type":       "Custom::S3",
					"Version":    1.0,
					"DependsOn":  []any{FunctionLogicalID(f.Key), handlerID},
					"Properties": props,
				}})
				statements = append(statements, map[string]any{
					"Effect":   "Allow",
					"Resource": cfn.Join(":", "arn", cfn.Ref("AWS::Partition"), "s3", "", "", eventValue(bucket)),
					"Action":   []any{"s3:PutBucketNotification", "s3:GetBucketNotification"},
				})
			} else {
				props := c.Template.Resource(id)["Properties"].(map[string]any)
				props["BucketConfigs"] = append(props["BucketConfigs"].([]any), bucketConfig)
			}
		}
	}
	if used {
		statements = append(statements, map[string]any{
			"Effect": "Allow",
			"Resource": cfn.Join(":", "arn", cfn.Ref("AWS::Partition"), "lambda", cfn.Ref("AWS::Region"),
				cfn.Ref("AWS::AccountId"), "function", "*"),
			"Action": []any{"lambda:AddPermission", "lambda:RemovePermission"},
		})
	}
	chainCustomResources(c, bucketOrder, bucketResources)
	if len(statements) > 0 {
		addCustomResource(c, CustomResourceS3, statements)
	}
}

// chainCustomResources makes each custom resource on the same bucket (or
// pool) depend on the previous one, so their read-modify-write of the
// shared configuration never races.
func chainCustomResources(c *Context, order []string, byTarget map[string][]string) {
	for _, key := range order {
		ids := byTarget[key]
		for i := 1; i < len(ids); i++ {
			res := c.Template.Resource(ids[i])
			deps, _ := res["DependsOn"].([]any)
			res["DependsOn"] = append(deps, ids[i-1])
		}
	}
}

func stringsHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lodashStartCase is _.startCase for the rule keys v3 converts ("prefix" →
// "Prefix", "someKey" → "Some Key").
func lodashStartCase(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, UpperFirst(string(cur)))
			cur = nil
		}
	}
	for i, r := range s {
		switch {
		case !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			flush()
		case r >= 'A' && r <= 'Z' && i > 0 && len(cur) > 0 && !(cur[len(cur)-1] >= 'A' && cur[len(cur)-1] <= 'Z'):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	out := ""
	for i, w := range words {
		if i > 0 {
			out += " "
		}
		out += w
	}
	return out
}
