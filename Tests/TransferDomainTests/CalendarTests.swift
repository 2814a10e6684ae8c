import Testing
import TransferDomain

@Suite("Working-day calendar")
struct CalendarTests {
    let calendar = WorkingDayCalendar.standard

    @Test("published years 2020-2026 are covered, each with its notice as source")
    func coverage() {
        #expect(calendar.coveredYears == Set(2020...2026))
        #expect(HolidaySchedule.published.allSatisfy { $0.source.contains("\($0.year)年部分节假日安排的通知") })
        // Every listed date parses and lies in its year.
        for schedule in HolidaySchedule.published {
            for text in Array(schedule.holidays.keys) + schedule.makeUpWorkdays {
                #expect((try? LocalDate(text))?.year == schedule.year, "\(text)")
            }
            // Make-up working days are weekend days.
            #expect(schedule.makeUpWorkdays.allSatisfy { Fixtures.date($0).isWeekend })
        }
    }

    /// Spring Festival 2024: Feb 10-17 off; Sunday Feb 4 and Sunday Feb 18 are working days.
    @Test("counting across Spring Festival 2024 with its make-up Sunday", arguments: [
        ("2024-02-08", 1, "2024-02-09"),
        ("2024-02-08", 2, "2024-02-18"),  // holidays skipped, make-up Sunday counted
        ("2024-02-08", 3, "2024-02-19"),
        // 15 after Monday Feb 5: Feb 6-9 (4), Feb 18 (5), Feb 19-23 (10), Feb 26-29 (14), Mar 1 (15)
        ("2024-02-05", 15, "2024-03-01"),
    ])
    func springFestival(start: String, days: Int, due: String) {
        let deadline = calendar.adding(workingDays: days, after: Fixtures.date(start))
        #expect(deadline == Deadline(due: Fixtures.date(due), provisional: false))
    }

    /// National Day 2025: Oct 1-8 off; Sunday Sep 28 and Saturday Oct 11 are working days.
    @Test("counting across National Day 2025 with its make-up weekend days", arguments: [
        ("2025-09-26", 1, "2025-09-28"),
        ("2025-09-26", 3, "2025-09-30"),
        ("2025-09-26", 4, "2025-10-09"),
        ("2025-09-26", 6, "2025-10-11"),
        ("2025-09-26", 7, "2025-10-13"),
    ])
    func nationalDay(start: String, days: Int, due: String) {
        #expect(calendar.adding(workingDays: days, after: Fixtures.date(start)).due == Fixtures.date(due))
    }

    @Test("the trigger day is not counted, and a holiday is no working day")
    func basics() {
        #expect(!calendar.isWorkingDay(Fixtures.date("2025-10-01")))
        #expect(calendar.isWorkingDay(Fixtures.date("2025-10-11")))
        #expect(!calendar.isWorkingDay(Fixtures.date("2025-10-12")))
        #expect(calendar.adding(workingDays: 1, after: Fixtures.date("2026-03-02")).due == Fixtures.date("2026-03-03"))
        #expect(calendar.workingDays(after: Fixtures.date("2025-09-26"), through: Fixtures.date("2025-10-13")) == 7)
    }

    @Test("a year without a schedule counts weekdays and marks the deadline provisional")
    func provisional() {
        let inside = calendar.adding(workingDays: 5, after: Fixtures.date("2026-03-02"))
        #expect(!inside.provisional)
        // 2026-12-30 (Wed): Dec 31 (1), 2027-01-01 counted as a plain Friday (2), Jan 4 (3).
        let across = calendar.adding(workingDays: 3, after: Fixtures.date("2026-12-30"))
        #expect(across == Deadline(due: Fixtures.date("2027-01-04"), provisional: true))
        #expect(calendar.adding(workingDays: 1, after: Fixtures.date("2028-06-01")).provisional)
    }
}
