import { memoryBus } from './bus.js'
import { describeConformance } from './suite.js'

describeConformance('in-memory broker', memoryBus)
