import Foundation
import OfficeRuntime
import OriginOffice

exit(await OfficeMain.run(OriginOffice.self))
