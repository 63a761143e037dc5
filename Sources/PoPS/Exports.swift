@_exported import PoPSAgents
@_exported import PoPSCore
@_exported import PoPSEnvironments
@_exported import PoPSNN
