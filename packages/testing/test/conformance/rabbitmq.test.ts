import { inject } from 'vitest'
import { rabbitBus } from './bus.js'
import { describeConformance } from './suite.js'

const url = inject('amqpUrl')

describeConformance('RabbitMQ', () => rabbitBus(url))
