// The one C entry point of the project: librdkafka's public API and its mock cluster.
// Only Shared/Kafka imports this module.
#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#endif
