package sheet

import pb "github.com/fengdu-county/casework/api/casework/v1"

// The labels of the case ledger's columns. They are written, never read
// back (the case ledger is an export only), so they are not drop-down
// lists of the template.
var (
	CaseType = labels(pb.CaseType(0).Descriptor(),
		n(pb.CaseType_CASE_TYPE_EMPLOYMENT_PLACEMENT, "随军家属就业安置"),
		n(pb.CaseType_CASE_TYPE_SCHOOL_ENROLLMENT, "子女入学"),
		n(pb.CaseType_CASE_TYPE_ELDER_MEDICAL_HELP, "老人就医帮扶"),
		n(pb.CaseType_CASE_TYPE_LEGAL_AID, "法律援助"),
	)
	CaseStatus = labels(pb.CaseStatus(0).Descriptor(),
		n(pb.CaseStatus_CASE_STATUS_DRAFT, "草稿"),
		n(pb.CaseStatus_CASE_STATUS_SUBMITTED, "已提交"),
		n(pb.CaseStatus_CASE_STATUS_ACCEPTED, "已受理"),
		n(pb.CaseStatus_CASE_STATUS_IN_PROGRESS, "办理中"),
		n(pb.CaseStatus_CASE_STATUS_RESOLVED, "已办结"),
		n(pb.CaseStatus_CASE_STATUS_CLOSED, "已归档"),
		n(pb.CaseStatus_CASE_STATUS_REJECTED, "不予受理"),
		n(pb.CaseStatus_CASE_STATUS_WITHDRAWN, "已撤回"),
		n(pb.CaseStatus_CASE_STATUS_AWAITING_MATERIALS, "待补正材料"),
		n(pb.CaseStatus_CASE_STATUS_TERMINATED, "已终止"),
	)
	CasePriority = labels(pb.CasePriority(0).Descriptor(),
		n(pb.CasePriority_CASE_PRIORITY_FIRST, "第一优先"),
		n(pb.CasePriority_CASE_PRIORITY_SECOND, "第二优先"),
		n(pb.CasePriority_CASE_PRIORITY_NORMAL, "一般"),
	)
)

// CaseLabels lists the case ledger's label tables.
func CaseLabels() []*Labels { return []*Labels{CaseType, CaseStatus, CasePriority} }
