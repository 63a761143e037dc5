@_exported import PoPSCore
@_exported import PoPSEnvironments
@_exported import PoPSNN
