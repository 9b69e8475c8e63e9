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
	// The statistics workbook's (ReportService.DownloadCaseStatistics).
	OutcomeResult = labels(pb.OutcomeResult(0).Descriptor(),
		n(pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED, "已实现"),
		n(pb.OutcomeResult_OUTCOME_RESULT_PARTIALLY_ACHIEVED, "部分实现"),
		n(pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED, "未实现"),
	)
	SchoolStage = labels(pb.SchoolStage(0).Descriptor(),
		n(pb.SchoolStage_SCHOOL_STAGE_KINDERGARTEN, "幼儿园"),
		n(pb.SchoolStage_SCHOOL_STAGE_PRIMARY, "小学"),
		n(pb.SchoolStage_SCHOOL_STAGE_JUNIOR_HIGH, "初中"),
		n(pb.SchoolStage_SCHOOL_STAGE_SENIOR_HIGH, "普通高中"),
		n(pb.SchoolStage_SCHOOL_STAGE_SECONDARY_VOCATIONAL, "中等职业学校"),
		n(pb.SchoolStage_SCHOOL_STAGE_HIGHER_EDUCATION, "高等教育"),
	)
	EnrollmentPriorityBasis = labels(pb.EnrollmentPriorityBasis(0).Descriptor(),
		n(pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_MARTYR_CHILD, "烈士子女"),
		n(pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_BORDER_HARDSHIP_POST, "边海防艰苦岗位军人子女"),
		n(pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_MERITORIOUS, "功臣英模子女"),
		n(pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_ACTIVE_DUTY, "现役军人子女"),
		n(pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_DIED_ON_DUTY_CHILD, "因公牺牲军人子女"),
	)
)

// CaseLabels lists the case ledger's label tables.
func CaseLabels() []*Labels {
	return []*Labels{CaseType, CaseStatus, CasePriority, OutcomeResult, SchoolStage, EnrollmentPriorityBasis}
}
