import Foundation
import DestinationOffice
import OfficeRuntime

exit(await OfficeMain.run(DestinationOffice.self))
