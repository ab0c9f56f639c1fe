package aws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// step is one observed moment of a scripted stack operation: the stack
// status DescribeStacks returns and the events that appeared by then, as
// AWS documents the sequences (e.g. UPDATE_IN_PROGRESS, a resource
// CREATE_FAILED, UPDATE_ROLLBACK_IN_PROGRESS, UPDATE_ROLLBACK_COMPLETE).
type step struct {
	status string
	events []fakeEvent
	// outputs, when set, become the stack's outputs at this step.
	outputs map[string]string
}

type fakeEvent struct{ logicalID, typ, status, reason string }

// fakeCloudFormation is a scripted CloudFormation: each operation (change
// set execution, stack deletion) takes the next script, and the stack moves
// through it one step per DescribeStacks call.
type fakeCloudFormation struct {
	CloudFormation // unimplemented calls panic, so a test notices them
	mu             sync.Mutex
	exists         bool
	status         string
	outputs        map[string]string
	scripts        [][]step // steps of the next operations, one script each
	running        []step
	events         []cftypes.StackEvent
	calls          []string
	changeSetEmpty bool
	failCreds      bool
	// rejectUpdate makes CreateChangeSet of type UPDATE fail, as
	// CloudFormation does for an invalid template.
	rejectUpdate error
	// changeSets keeps every CreateChangeSet request.
	changeSets []*cloudformation.CreateChangeSetInput
	// template is what GetTemplate returns.
	template string
	// policies are the SetStackPolicy bodies, creates and updates the
	// direct CreateStack and UpdateStack requests.
	policies []string
	creates  []*cloudformation.CreateStackInput
	updates  []*cloudformation.UpdateStackInput
	// resources maps the stack's logical IDs to physical IDs, for
	// DescribeStackResources.
	resources map[string]string
}

func (f *fakeCloudFormation) DescribeStackResources(ctx context.Context, in *cloudformation.DescribeStackResourcesInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.LogicalResourceId)
	phys, ok := f.resources[id]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Resource " + id + " does not exist for stack " + aws.ToString(in.StackName)}
	}
	return &cloudformation.DescribeStackResourcesOutput{StackResources: []cftypes.StackResource{{LogicalResourceId: aws.String(id), PhysicalResourceId: aws.String(phys)}}}, nil
}

func (f *fakeCloudFormation) GetTemplate(ctx context.Context, in *cloudformation.GetTemplateInput, _ ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("GetTemplate:" + string(in.TemplateStage)); err != nil {
		return nil, err
	}
	return &cloudformation.GetTemplateOutput{TemplateBody: aws.String(f.template)}, nil
}

func (f *fakeCloudFormation) record(call string) error {
	f.calls = append(f.calls, call)
	if f.failCreds {
		return &smithy.GenericAPIError{Code: "ExpiredToken", Message: "The security token included in the request is expired"}
	}
	return nil
}

func (f *fakeCloudFormation) addEvents(evs []fakeEvent) {
	for _, e := range evs {
		id := fmt.Sprintf("ev-%d", len(f.events))
		f.events = append([]cftypes.StackEvent{{
			EventId: aws.String(id), LogicalResourceId: aws.String(e.logicalID), ResourceType: aws.String(e.typ),
			ResourceStatus: cftypes.ResourceStatus(e.status), ResourceStatusReason: aws.String(e.reason),
			Timestamp: aws.Time(time.Now()),
		}}, f.events...)
	}
}

func (f *fakeCloudFormation) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DescribeStacks"); err != nil {
		return nil, err
	}
	if len(f.running) > 0 {
		s := f.running[0]
		f.running = f.running[1:]
		f.status = s.status
		f.addEvents(s.events)
		if s.outputs != nil {
			f.outputs = s.outputs
		}
		if s.status == "DELETE_COMPLETE" {
			f.exists = false
		}
	}
	if !f.exists {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + aws.ToString(in.StackName) + " does not exist"}
	}
	st := cftypes.Stack{StackName: in.StackName, StackStatus: cftypes.StackStatus(f.status)}
	for k, v := range f.outputs {
		st.Outputs = append(st.Outputs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{st}}, nil
}

func (f *fakeCloudFormation) nextScript() {
	if len(f.scripts) == 0 {
		panic("fake CloudFormation: no script for this operation")
	}
	f.running, f.scripts = f.scripts[0], f.scripts[1:]
}

func (f *fakeCloudFormation) DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &cloudformation.DescribeStackEventsOutput{StackEvents: append([]cftypes.StackEvent(nil), f.events...)}, nil
}

func (f *fakeCloudFormation) ListStackResources(ctx context.Context, in *cloudformation.ListStackResourcesInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error) {
	return &cloudformation.ListStackResourcesOutput{}, nil
}

func (f *fakeCloudFormation) CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CreateChangeSet:" + string(in.ChangeSetType)); err != nil {
		return nil, err
	}
	f.changeSets = append(f.changeSets, in)
	if in.ChangeSetType == cftypes.ChangeSetTypeCreate {
		f.exists, f.status = true, "REVIEW_IN_PROGRESS"
	}
	if in.ChangeSetType == cftypes.ChangeSetTypeUpdate && f.rejectUpdate != nil {
		return nil, f.rejectUpdate
	}
	return &cloudformation.CreateChangeSetOutput{}, nil
}

func (f *fakeCloudFormation) DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changeSetEmpty {
		return &cloudformation.DescribeChangeSetOutput{Status: cftypes.ChangeSetStatusFailed,
			StatusReason: aws.String("The submitted information didn't contain changes. Submit different information to create a change set.")}, nil
	}
	return &cloudformation.DescribeChangeSetOutput{Status: cftypes.ChangeSetStatusCreateComplete,
		Changes: []cftypes.Change{{ResourceChange: &cftypes.ResourceChange{Action: cftypes.ChangeActionModify, LogicalResourceId: aws.String("HelloLambdaFunction")}}}}, nil
}

func (f *fakeCloudFormation) ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("ExecuteChangeSet")
	f.nextScript()
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

func (f *fakeCloudFormation) DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DeleteChangeSet")
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

func (f *fakeCloudFormation) DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DeleteStack")
	f.nextScript()
	return &cloudformation.DeleteStackOutput{}, nil
}

// fakeS3 is an in-memory bucket store.
type fakeS3 struct {
	S3
	mu      sync.Mutex
	objects map[string]map[string][]byte // bucket → key → body
	meta    map[string]map[string]string
	puts    []string
	copies  []string
	// putInputs and copyInputs keep every request, to check encryption.
	putInputs  []*s3.PutObjectInput
	copyInputs []*s3.CopyObjectInput
	heads      []*s3.HeadObjectInput
	// regions holds a bucket's location constraint ("" is us-east-1).
	regions map[string]string
	// accelerated says, for each PutObject, whether it went through S3
	// Transfer Acceleration.
	accelerated []bool
}

func (f *fakeS3) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.objects[aws.ToString(in.Bucket)]; !ok {
		return nil, &s3types.NotFound{Message: aws.String("Not Found")}
	}
	return &s3.HeadBucketOutput{}, nil
}

func (f *fakeS3) GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, _ ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := aws.ToString(in.Bucket)
	if _, ok := f.objects[b]; !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	}
	return &s3.GetBucketLocationOutput{LocationConstraint: s3types.BucketLocationConstraint(f.regions[b])}, nil
}

func newFakeS3(buckets ...string) *fakeS3 {
	f := &fakeS3{objects: map[string]map[string][]byte{}, meta: map[string]map[string]string{}}
	for _, b := range buckets {
		f.objects[b] = map[string][]byte{}
	}
	return f
}

func (f *fakeS3) keys(bucket, prefix string) []string {
	var keys []string
	for k := range f.objects[bucket] {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (f *fakeS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.objects[aws.ToString(in.Bucket)]; !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchBucket", Message: "NoSuchBucket"}
	}
	out := &s3.ListObjectsV2Output{}
	for _, k := range f.keys(aws.ToString(in.Bucket), aws.ToString(in.Prefix)) {
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), LastModified: aws.Time(time.Now())})
	}
	return out, nil
}

func (f *fakeS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.heads = append(f.heads, in)
	return &s3.HeadObjectOutput{Metadata: map[string]string{"filesha256": f.meta[aws.ToString(in.Bucket)][aws.ToString(in.Key)]}}, nil
}

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, _ := io.ReadAll(in.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	var o s3.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.accelerated = append(f.accelerated, o.UseAccelerate)
	b := aws.ToString(in.Bucket)
	f.objects[b][aws.ToString(in.Key)] = body
	if f.meta[b] == nil {
		f.meta[b] = map[string]string{}
	}
	f.meta[b][aws.ToString(in.Key)] = in.Metadata["filesha256"]
	f.puts = append(f.puts, aws.ToString(in.Key))
	f.putInputs = append(f.putInputs, in)
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(f.objects[aws.ToString(in.Bucket)][aws.ToString(in.Key)]))}, nil
}

func (f *fakeS3) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range in.Delete.Objects {
		delete(f.objects[aws.ToString(in.Bucket)], aws.ToString(o.Key))
	}
	return &s3.DeleteObjectsOutput{}, nil
}

func (f *fakeS3) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return &s3.ListObjectVersionsOutput{}, nil
}

// fakeLambda reports every function as last modified at lastModified, or
// as missing (like a first deploy) when it is zero.
type fakeLambda struct {
	Lambda
	lastModified time.Time
}

func (l fakeLambda) GetFunction(ctx context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	if l.lastModified.IsZero() {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException"}
	}
	return &lambda.GetFunctionOutput{Configuration: &lambdatypes.FunctionConfiguration{
		LastModified: aws.String(l.lastModified.Format("2006-01-02T15:04:05.000-0700")),
	}}, nil
}

func (f *fakeS3) CopyObject(ctx context.Context, in *s3.CopyObjectInput, _ ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := aws.ToString(in.Bucket)
	src, err := url.PathUnescape(strings.TrimPrefix(aws.ToString(in.CopySource), b+"/"))
	if err != nil {
		return nil, err
	}
	body, ok := f.objects[b][src]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "NoSuchKey", Message: src}
	}
	f.objects[b][aws.ToString(in.Key)] = body
	f.meta[b][aws.ToString(in.Key)] = in.Metadata["filesha256"]
	f.copies = append(f.copies, src+"->"+aws.ToString(in.Key))
	f.copyInputs = append(f.copyInputs, in)
	return &s3.CopyObjectOutput{}, nil
}

func (f *fakeCloudFormation) SetStackPolicy(ctx context.Context, in *cloudformation.SetStackPolicyInput, _ ...func(*cloudformation.Options)) (*cloudformation.SetStackPolicyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("SetStackPolicy"); err != nil {
		return nil, err
	}
	f.policies = append(f.policies, aws.ToString(in.StackPolicyBody))
	return &cloudformation.SetStackPolicyOutput{}, nil
}

func (f *fakeCloudFormation) CreateStack(ctx context.Context, in *cloudformation.CreateStackInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CreateStack"); err != nil {
		return nil, err
	}
	f.creates = append(f.creates, in)
	f.exists, f.status = true, "CREATE_IN_PROGRESS"
	f.nextScript()
	return &cloudformation.CreateStackOutput{}, nil
}

func (f *fakeCloudFormation) UpdateStack(ctx context.Context, in *cloudformation.UpdateStackInput, _ ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("UpdateStack"); err != nil {
		return nil, err
	}
	f.updates = append(f.updates, in)
	if f.changeSetEmpty {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "No updates are to be performed."}
	}
	f.nextScript()
	return &cloudformation.UpdateStackOutput{}, nil
}
