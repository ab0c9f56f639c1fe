package lift

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// LogicalID is the logical ID CDK gives a resource at path (the construct
// IDs below the stack, e.g. "jobs", "Queue", "Resource"): the path's
// alphanumeric characters without "Resource" components and without a
// component its predecessor ends with, then the first 8 hex digits of the
// MD5 of the whole path, upper case. "Default" components are dropped
// from both; a one-component path is only cleaned.
func LogicalID(path ...string) string {
	var comps []string
	for _, c := range path {
		if c != "Default" {
			comps = append(comps, c)
		}
	}
	if len(comps) == 1 {
		return nonAlphanumeric.ReplaceAllString(comps[0], "")
	}
	sum := md5.Sum([]byte(strings.Join(comps, "/")))
	hash := strings.ToUpper(hex.EncodeToString(sum[:])[:8])
	var human []string
	for _, c := range comps {
		if len(human) > 0 && strings.HasSuffix(human[len(human)-1], c) {
			continue
		}
		human = append(human, c)
	}
	var b strings.Builder
	for _, c := range human {
		if c != "Resource" {
			b.WriteString(nonAlphanumeric.ReplaceAllString(c, ""))
		}
	}
	h := b.String()
	if len(h) > 240 {
		h = h[:240]
	}
	return h + hash
}

var nonAlphanumeric = regexp.MustCompile(`[^A-Za-z0-9]`)

// number reads an optional numeric setting; ok is false when absent.
func number(v *config.Node, key string) (float64, bool) {
	n := v.Get(key)
	if n == nil {
		return 0, false
	}
	switch x := n.Value.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func num(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}

// buildQueue is lift's queue construct: a queue with a dead letter queue
// and a worker function consuming it.
func buildQueue(id string, v *config.Node, stackName string, root *config.Node, ds *diag.Diagnostics) *construct {
	path := "constructs." + id
	c := &construct{id: id, pos: v.Pos, variables: map[string]*config.Node{}}
	w := v.Get("worker")
	if w == nil || w.Kind == config.Null {
		invalid(ds, v, path, id, "no 'worker' defined. Queue constructs require a 'worker' function to be defined.")
		return nil
	}
	var timeout float64 = 6
	wk := &worker{}
	switch w.Kind {
	case config.String:
		wk.function = w.Value.(string)
		fn := root.Lookup("functions", wk.function)
		if fn == nil || fn.Kind != config.Map {
			ds.Errorf(w.Pos, path+".worker", "Invalid configuration in 'constructs.%s': 'worker' names function %q, which is not defined under functions", id, wk.function)
			return nil
		}
		if t, ok := number(fn, "timeout"); ok {
			timeout = t
		}
	case config.Map:
		wk.function = id + "Worker"
		wk.config = w
		if t, ok := number(w, "timeout"); ok {
			timeout = t
		}
	default:
		invalid(ds, w, path+".worker", id, "'worker' must be a function definition or the name of a function")
		return nil
	}
	window, _ := number(v, "maxBatchingWindow")
	visibility := timeout*6 + window
	maxRetries := float64(3)
	if r, ok := number(v, "maxRetries"); ok {
		maxRetries = r
	}
	fifo := v.Get("fifo")
	isFifo := isTrue(fifo)
	if fifo != nil && fifo.Value == false {
		ds.Warnf(fifo.Pos, path+".fifo", "fifo: false makes serverless-lift set ContentBasedDeduplication on a standard queue, which the AWS::SQS::Queue schema does not allow (cfn-lint E3501)")
		(*ds)[len(*ds)-1].Detail = "Leave fifo out for a standard queue; the template keeps lift's output either way."
	}
	delay, hasDelay := number(v, "delay")
	if hasDelay && (delay < 0 || delay > 900) {
		invalid(ds, v.Get("delay"), path+".delay", id, "'delay' must be between 0 and 900, '%v' given.", num(delay))
		return nil
	}
	batchSize := float64(1)
	if b, ok := number(v, "batchSize"); ok {
		batchSize = b
		if b > 10 && isFifo {
			invalid(ds, v.Get("batchSize"), path+".batchSize", id, "'batchSize' must be between 0 and 10 for FIFO queues, '%v' given.", num(b))
			return nil
		}
		if b > 10 && window == 0 {
			invalid(ds, v.Get("batchSize"), path+".batchSize", id, "'maxBatchingWindow' must be greater than 0 for batchSize > 10, '%v' given.", num(window))
			return nil
		}
	}
	pos := v.Pos
	var resources []named
	// encryption is the KmsMasterKeyId both queues get, nil for none.
	var encryption *config.Node
	switch enc := v.Get("encryption").Scalar0(); enc {
	case "":
	case "kmsManaged":
		encryption = config.NewString("alias/aws/sqs", pos)
	case "kms":
		keyName := v.Get("encryptionKey").Scalar0()
		if keyName == "" {
			invalid(ds, v.Get("encryption"), path+".encryptionKey", id, "'encryptionKey' must be set if the 'encryption' is set to 'kms'")
			return nil
		}
		// CDK's default key policy: the account's root may do anything.
		keyID := LogicalID(id, keyName, "Resource")
		accountRoot := join("", pos, config.NewString("arn:", pos), ref("AWS::Partition", pos), config.NewString(":iam::", pos),
			ref("AWS::AccountId", pos), config.NewString(":root", pos))
		resources = append(resources, named{keyID, obj(pos, "Type", "AWS::KMS::Key",
			"Properties", obj(pos, "KeyPolicy", obj(pos,
				"Statement", config.NewSeq(pos, obj(pos, "Action", "kms:*", "Effect", "Allow", "Principal", obj(pos, "AWS", accountRoot), "Resource", "*")),
				"Version", "2012-10-17")),
			"UpdateReplacePolicy", "Retain", "DeletionPolicy", "Retain")})
		encryption = getAtt(keyID, "Arn", pos)
	default:
		invalid(ds, v.Get("encryption"), path+".encryption", id, "'encryption' must be one of 'kms', 'kmsManaged', null, '%s' given.", enc)
		return nil
	}

	base := stackName + "-" + id
	dlqID, queueID := LogicalID(id, "Dlq", "Resource"), LogicalID(id, "Queue", "Resource")
	dlqName, queueName := base+"-dlq", base
	if isFifo {
		dlqName, queueName = base+"-dlq.fifo", base+".fifo"
	}
	// CDK renders properties in alphabetical order, FifoQueue only when
	// true, and ContentBasedDeduplication whenever fifo is set.
	dlqProps := config.NewMap(pos)
	if isFifo {
		dlqProps.Set("FifoQueue", config.NewBool(true, pos))
	}
	if encryption != nil {
		dlqProps.Set("KmsMasterKeyId", encryption.Clone())
	}
	dlqProps.Set("MessageRetentionPeriod", config.NewInt(1209600, pos))
	dlqProps.Set("QueueName", config.NewString(dlqName, pos))

	queueProps := config.NewMap(pos)
	if fifo != nil && fifo.Kind == config.Bool {
		queueProps.Set("ContentBasedDeduplication", config.NewBool(isFifo, pos))
	}
	if hasDelay {
		queueProps.Set("DelaySeconds", config.FromInterface(num(delay), pos))
	}
	if isFifo {
		queueProps.Set("FifoQueue", config.NewBool(true, pos))
	}
	if encryption != nil {
		queueProps.Set("KmsMasterKeyId", encryption.Clone())
	}
	queueProps.Set("QueueName", config.NewString(queueName, pos))
	queueProps.Set("RedrivePolicy", obj(pos, "deadLetterTargetArn", getAtt(dlqID, "Arn", pos), "maxReceiveCount", num(maxRetries)))
	queueProps.Set("VisibilityTimeout", config.FromInterface(num(visibility), pos))

	resources = append(resources,
		named{dlqID, obj(pos, "Type", "AWS::SQS::Queue", "Properties", dlqProps, "UpdateReplacePolicy", "Delete", "DeletionPolicy", "Delete")},
		named{queueID, obj(pos, "Type", "AWS::SQS::Queue", "Properties", queueProps, "UpdateReplacePolicy", "Delete", "DeletionPolicy", "Delete")},
	)
	c.extensions = map[string]string{"queue": queueID, "dlq": dlqID}
	if email := v.Get("alarm").Scalar0(); email != "" {
		// An e-mail alert as soon as one message is in the dead letter queue.
		topicID := LogicalID(id, "AlarmTopic", "Resource")
		alarmID := LogicalID(id, "Alarm", "Resource")
		display := "[Alert][" + id + "] failed jobs in the DLQ."
		if len(display) > 100 {
			display = display[:100]
		}
		resources = append(resources,
			named{topicID, obj(pos, "Type", "AWS::SNS::Topic", "Properties", obj(pos,
				"DisplayName", display, "TopicName", stackName+"-"+id+"-dlq-alarm-topic"))},
			named{LogicalID(id, "AlarmTopicSubscription", "Resource"), obj(pos, "Type", "AWS::SNS::Subscription", "Properties", obj(pos,
				"Endpoint", email, "Protocol", "email", "TopicArn", ref(topicID, pos)))},
			named{alarmID, obj(pos, "Type", "AWS::CloudWatch::Alarm", "Properties", obj(pos,
				"AlarmActions", config.NewSeq(pos, ref(topicID, pos)),
				"AlarmDescription", "Alert triggered when there are failed jobs in the dead letter queue.",
				"AlarmName", stackName+"-"+id+"-dlq-alarm",
				"ComparisonOperator", "GreaterThanThreshold",
				"Dimensions", config.NewSeq(pos, obj(pos, "Name", "QueueName", "Value", getAtt(dlqID, "QueueName", pos))),
				"EvaluationPeriods", 1,
				"MetricName", "ApproximateNumberOfMessagesVisible",
				"Namespace", "AWS/SQS",
				"Period", 60,
				"Statistic", "Sum",
				"Threshold", 0,
				"TreatMissingData", "notBreaching"))},
		)
		c.extensions["alarm"] = alarmID
	}
	c.resources = resources
	c.outputs = []named{
		{LogicalID(id, "QueueArn"), obj(pos, "Description", `ARN of the "`+id+`" SQS queue.`, "Value", getAtt(queueID, "Arn", pos))},
		{LogicalID(id, "QueueUrl"), obj(pos, "Description", `URL of the "`+id+`" SQS queue.`, "Value", ref(queueID, pos))},
		{LogicalID(id, "DlqUrl"), obj(pos, "Description", `URL of the "`+id+`" SQS dead letter queue.`, "Value", ref(dlqID, pos))},
	}
	c.variables["queueUrl"] = ref(queueID, pos)
	c.variables["queueArn"] = getAtt(queueID, "Arn", pos)
	c.variables["dlqUrl"] = ref(dlqID, pos)
	c.variables["dlqArn"] = getAtt(dlqID, "Arn", pos)
	c.statements = []statement{{
		actions:   []string{"sqs:SendMessage", "sqs:ChangeMessageVisibility"},
		resources: []resourceValue{{attribute: "queueArn"}},
	}}
	sqs := obj(w.Pos, "arn", "", "batchSize", num(batchSize), "maximumBatchingWindow", num(window))
	if mc, ok := number(v, "maxConcurrency"); ok {
		sqs.Set("maximumConcurrency", config.FromInterface(num(mc), w.Pos))
	}
	sqs.Set("functionResponseType", config.NewString("ReportBatchItemFailures", w.Pos))
	wk.event = obj(w.Pos, "sqs", sqs)
	c.worker = wk
	return c
}

// storageIAMActions are what lift lets the service role do on a storage
// bucket and its objects.
var storageIAMActions = []string{
	"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket",
	"s3:GetObjectAcl", "s3:PutObjectAcl", "s3:GetObjectTagging", "s3:PutObjectTagging",
	"s3:DeleteObjectTagging", "s3:GetObjectAttributes", "s3:AbortMultipartUpload",
	"s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads", "s3:RestoreObject",
}

// buildStorage is lift's storage construct: a private, versioned,
// encrypted bucket that only accepts TLS, with intelligent tiering.
func buildStorage(id string, v *config.Node, ds *diag.Diagnostics) *construct {
	pos := v.Pos
	c := &construct{id: id, pos: pos, variables: map[string]*config.Node{}, sharedActions: true}
	bucketID, policyID := LogicalID(id, "Bucket", "Resource"), LogicalID(id, "Bucket", "Policy", "Resource")
	algorithm := "AES256"
	if v.Get("encryption").Scalar0() == "kms" {
		algorithm = "aws:kms"
	}
	allowACL := isTrue(v.Get("allowAcl"))
	publicObjects := ""
	if pp := v.Get("publicPath"); pp != nil && pp.Kind == config.String {
		prefix := strings.TrimRight(strings.TrimLeft(pp.Value.(string), "/"), "/")
		if prefix == "" || prefix == "*" {
			publicObjects = "*"
		} else {
			publicObjects = prefix + "/*"
		}
	}

	props := config.NewMap(pos)
	props.Set("BucketEncryption", obj(pos, "ServerSideEncryptionConfiguration", config.NewSeq(pos,
		obj(pos, "ServerSideEncryptionByDefault", obj(pos, "SSEAlgorithm", algorithm)))))
	if cors := v.Get("cors"); cors != nil && cors.Kind != config.Null {
		var rules *config.Node
		if cors.Kind == config.String {
			rules = config.NewSeq(pos, obj(pos,
				"AllowedHeaders", stringList(pos, "*"),
				"AllowedMethods", stringList(pos, "GET", "PUT", "DELETE"),
				"AllowedOrigins", stringList(pos, cors.Value.(string))))
		} else {
			rules = config.NewSeq(pos)
			for _, r := range cors.List() {
				rules.Items = append(rules.Items, capitalizeKeys(r))
			}
		}
		props.Set("CorsConfiguration", obj(pos, "CorsRules", rules))
	}
	rules := config.NewSeq(pos,
		obj(pos, "Status", "Enabled", "Transitions", config.NewSeq(pos, obj(pos, "StorageClass", "INTELLIGENT_TIERING", "TransitionInDays", 0))),
		obj(pos, "Status", "Enabled", "NoncurrentVersionExpiration", obj(pos, "NoncurrentDays", 30)),
	)
	for _, r := range v.Get("lifecycleRules").List() {
		rule := capitalizeKeys(r)
		if rule.Kind == config.Map && !rule.Has("Status") {
			rule.Set("Status", config.NewString("Enabled", r.Pos))
		}
		rules.Items = append(rules.Items, rule)
	}
	props.Set("LifecycleConfiguration", obj(pos, "Rules", rules))
	if allowACL {
		props.Set("OwnershipControls", obj(pos, "Rules", config.NewSeq(pos, obj(pos, "ObjectOwnership", "BucketOwnerPreferred"))))
	}
	if publicObjects == "" {
		props.Set("PublicAccessBlockConfiguration", obj(pos, "BlockPublicAcls", true, "BlockPublicPolicy", true, "IgnorePublicAcls", true, "RestrictPublicBuckets", true))
	} else {
		props.Set("PublicAccessBlockConfiguration", obj(pos, "BlockPublicAcls", !allowACL, "BlockPublicPolicy", false, "IgnorePublicAcls", true, "RestrictPublicBuckets", false))
	}
	props.Set("VersioningConfiguration", obj(pos, "Status", "Enabled"))

	arn := func() *config.Node { return getAtt(bucketID, "Arn", pos) }
	statements := config.NewSeq(pos, obj(pos,
		"Action", "s3:*",
		"Condition", obj(pos, "Bool", obj(pos, "aws:SecureTransport", "false")),
		"Effect", "Deny",
		"Principal", obj(pos, "AWS", "*"),
		"Resource", config.NewSeq(pos, arn(), join("", pos, arn(), config.NewString("/*", pos))),
	))
	if publicObjects != "" {
		statements.Items = append(statements.Items, obj(pos,
			"Action", "s3:GetObject",
			"Effect", "Allow",
			"Principal", obj(pos, "AWS", "*"),
			"Resource", join("", pos, arn(), config.NewString("/"+publicObjects, pos)),
		))
	}
	c.resources = []named{
		{bucketID, obj(pos, "Type", "AWS::S3::Bucket", "Properties", props, "UpdateReplacePolicy", "Retain", "DeletionPolicy", "Retain")},
		{policyID, obj(pos, "Type", "AWS::S3::BucketPolicy", "Properties", obj(pos,
			"Bucket", ref(bucketID, pos),
			"PolicyDocument", obj(pos, "Statement", statements, "Version", "2012-10-17")))},
	}
	c.extensions = map[string]string{"bucket": bucketID}
	c.outputs = []named{{LogicalID(id, "BucketName"), obj(pos, "Value", ref(bucketID, pos))}}
	c.variables["bucketArn"] = arn()
	c.variables["bucketName"] = ref(bucketID, pos)
	if publicObjects != "" {
		c.variables["publicUrl"] = join("", pos, config.NewString("https://", pos), getAtt(bucketID, "RegionalDomainName", pos))
	}
	c.statements = []statement{{
		actions: storageIAMActions,
		resources: []resourceValue{
			{attribute: "bucketArn"},
			{value: join("/", pos, arn(), config.NewString("*", pos))},
		},
	}}
	return c
}

// capitalizeKeys upper-cases the first letter of every key, in nested
// maps and in maps inside lists, as lift does for rules it passes on.
func capitalizeKeys(n *config.Node) *config.Node {
	switch n.Kind {
	case config.Map:
		m := config.NewMap(n.Pos)
		for _, p := range n.Pairs {
			k := p.Key
			if k != "" {
				k = strings.ToUpper(k[:1]) + k[1:]
			}
			m.Set(k, capitalizeKeys(p.Value))
		}
		return m
	case config.Seq:
		s := config.NewSeq(n.Pos)
		for _, it := range n.Items {
			s.Items = append(s.Items, capitalizeKeys(it))
		}
		return s
	}
	return n.Clone()
}
